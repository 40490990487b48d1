"""Shared state chosen by one URL: ``memory://``, ``file:///dir`` or ``redis://host:port/db``.

Everything the processes of one deployment share comes from :class:`SharedState`: the alert
engine's leadership lease and states, the monitoring windows every process publishes, and
Socket.IO's client manager (which reaches the clients of every instance). The backend follows
the deployment:

- ``memory://``: one process; nothing is shared and nothing is published;
- ``file:///path``: the workers of one host (``barberpro serve --workers N`` makes a fresh
  directory per run); leases are files guarded by ``flock``;
- ``redis://`` or ``rediss://``: several instances behind a load balancer.

Drivers are imported only when their backend is chosen.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

__all__ = ["Backend", "KeyValueStore", "SharedState", "UnsupportedURL"]


class UnsupportedURL(ValueError):
    """The URL names no shared-state backend this service has."""


class KeyValueStore(Protocol):
    """The small surface the service needs from a shared store: values, leases and hashes."""

    async def ping(self) -> bool:
        """Return True when the store answers."""
        ...

    async def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl_s`` seconds when given."""
        ...

    async def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take or renew a lease: True when ``key`` was free or already held by ``owner``.

        Atomic: of several owners asking at once, exactly one gets it. The lease expires after
        ``ttl_s`` seconds unless renewed by calling ``acquire`` again with the same owner.
        """
        ...

    async def release(self, key: str, owner: str) -> bool:
        """Drop the lease on ``key`` when ``owner`` holds it; True when it was dropped."""
        ...

    async def hset(self, key: str, field: str, value: bytes) -> None:
        """Set one field of the hash ``key`` (replacing that field only)."""
        ...

    async def hgetall(self, key: str) -> dict[str, bytes]:
        """Return every field of the hash ``key`` (empty when there is none)."""
        ...

    async def hdel(self, key: str, *fields: str) -> None:
        """Remove ``fields`` from the hash ``key``."""
        ...

    async def close(self) -> None:
        """Release connections and held leases."""
        ...


class Backend(StrEnum):
    """Where shared state lives."""

    MEMORY = "memory"
    DIRECTORY = "directory"
    REDIS = "redis"


class SharedState:
    """The shared-state backend of one deployment and the one store every part takes."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or "memory://"
        parts = urlsplit(self.url)
        if parts.scheme == "memory":
            self.backend = Backend.MEMORY
        elif parts.scheme == "file":
            if not parts.path:
                raise UnsupportedURL(f"{self.url!r}: a file:// URL needs a path, file:///dir")
            self.backend = Backend.DIRECTORY
            self.directory: Path | None = Path(unquote(parts.path))
        elif parts.scheme in {"redis", "rediss"}:
            self.backend = Backend.REDIS
        else:
            raise UnsupportedURL(
                f"unsupported shared-state URL {self.url!r}: use memory://, file:///dir, "
                "redis:// or rediss://"
            )
        if self.backend is not Backend.DIRECTORY:
            self.directory = None
        self._store: KeyValueStore | None = None

    @property
    def shared(self) -> bool:
        """True when other processes see this state (a directory or Redis)."""
        return self.backend is not Backend.MEMORY

    @property
    def store(self) -> KeyValueStore:
        """The store of this backend, made on first use (no connection until a call)."""
        if self._store is None:
            self._store = self._make_store()
        return self._store

    def _make_store(self) -> KeyValueStore:
        if self.backend is Backend.REDIS:
            from barberpro.kv.redis import RedisStore  # redis is imported only when used

            return RedisStore.from_url(self.url)
        if self.backend is Backend.DIRECTORY:
            from barberpro.kv.directory import DirectoryStore

            assert self.directory is not None
            return DirectoryStore(self.directory)
        from barberpro.kv.memory import MemoryStore

        return MemoryStore()

    def socketio_manager(self, channel: str) -> Any:
        """Return Socket.IO's client manager for this backend; None keeps rooms in-process.

        With Redis an emit on any instance reaches the room's clients on every instance; the
        workers of one host without Redis each serve their own clients.
        """
        if self.backend is not Backend.REDIS:
            return None
        import socketio

        return socketio.AsyncRedisManager(self.url, channel=channel)

    async def close(self) -> None:
        """Close the store (its connections, and any lease it still holds)."""
        if self._store is not None:
            await self._store.close()
            self._store = None
