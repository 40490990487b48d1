"""Monitoring: route, query, webhook and WebSocket timing, system health, Prometheus, dashboard.

``service.Monitor`` owns every part of one process (its ring of windows, the trackers, the
metrics registry and the shared view of every process); ``signals.MonitorSignals`` reads the
alert engine's numbers from it; ``router`` and ``middleware`` are what the app mounts.
"""
