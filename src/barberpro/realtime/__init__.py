"""Realtime: the Socket.IO server at /socket.io (live dashboard pushes, alert pushes)."""
