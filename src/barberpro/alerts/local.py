"""Leadership and shared alert state for the workers of one instance without Redis.

``barberpro serve --workers N`` without ``BARBERPRO_REDIS_URL`` gives each worker its own
in-process store, so each would think it leads and every page would go out N times. The workers
share a machine and the run's directory (``PROMETHEUS_MULTIPROC_DIR``), so the lease is an
exclusive ``flock`` on a file there: the kernel drops it when its holder dies, and the next
worker to ask takes over. Values (the state snapshot) are files replaced atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from pathlib import Path

__all__ = ["DirectoryStore"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class DirectoryStore:
    """The part of KeyValueStore the alert engine uses, on files in one directory."""

    def __init__(self, path: str | Path) -> None:
        self._dir = Path(path)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._held: dict[str, int] = {}

    def _path(self, key: str, suffix: str) -> Path:
        return self._dir / (_UNSAFE.sub("_", key) + suffix)

    async def ping(self) -> bool:
        """True when the directory is there."""
        return self._dir.is_dir()

    async def get(self, key: str) -> bytes | None:
        """Return the value stored under ``key``, None when there is none."""
        try:
            return self._path(key, ".value").read_bytes()
        except FileNotFoundError:
            return None

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Replace the value of ``key`` atomically (``ttl_s`` is ignored: the run owns the dir)."""
        del ttl_s
        target = self._path(key, ".value")
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(value)
        os.replace(temporary, target)

    async def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Hold an exclusive flock on the key's file; True while this store holds it."""
        del owner, ttl_s  # the lock lives as long as this process keeps the file open
        if key in self._held:
            return True
        fd = os.open(self._path(key, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[key] = fd
        return True

    async def release(self, key: str, owner: str) -> bool:
        """Drop the lock on ``key`` when this store holds it."""
        del owner
        fd = self._held.pop(key, None)
        if fd is None:
            return False
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return True

    async def close(self) -> None:
        """Release every lock this store holds."""
        for key in list(self._held):
            await self.release(key, "")
