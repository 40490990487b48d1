"""Key-value store chosen by URL: ``memory://`` in one process, ``redis://`` shared by instances."""

from __future__ import annotations

import time
from typing import Protocol
from urllib.parse import urlsplit


class KeyValueStore(Protocol):
    """The small surface the service needs from a shared store."""

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

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryStore:
    """An in-process store with expiry, for a single instance without Redis."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}

    async def ping(self) -> bool:
        """Always True: the store is this process."""
        return True

    async def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, None when absent or expired."""
        found = self._data.get(key)
        if found is None:
            return None
        value, expires = found
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value`` under ``key``."""
        expires = None if ttl_s is None else time.monotonic() + ttl_s
        self._data[key] = (value, expires)

    async def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take or renew the lease for ``owner``; atomic, as get and set never suspend."""
        held = await self.get(key)
        if held is not None and held != owner.encode():
            return False
        await self.set(key, owner.encode(), ttl_s=ttl_s)
        return True

    async def release(self, key: str, owner: str) -> bool:
        """Drop the lease on ``key`` when ``owner`` holds it."""
        if await self.get(key) != owner.encode():
            return False
        del self._data[key]
        return True

    async def close(self) -> None:
        """Nothing to release."""


def store_from_url(url: str | None) -> KeyValueStore:
    """Return the store for ``memory://`` (or None) or ``redis://host:port/db``."""
    if url is None:
        return MemoryStore()
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme in {"redis", "rediss"}:
        from barberpro.kv.redis import RedisStore  # redis is imported only when used

        return RedisStore.from_url(url)
    raise ValueError(f"unsupported store scheme: {scheme!r}")
