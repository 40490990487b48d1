"""The in-process store, for a single process: nothing is shared."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["MemoryStore"]


class MemoryStore:
    """A KeyValueStore in this process's memory, with expiry; atomic as nothing suspends."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._hashes: dict[str, dict[str, bytes]] = {}

    async def ping(self) -> bool:
        """Always True: the store is this process."""
        return True

    def _get(self, key: str) -> bytes | None:
        found = self._data.get(key)
        if found is None:
            return None
        value, expires = found
        if expires is not None and expires <= self._clock():
            del self._data[key]
            return None
        return value

    async def get(self, key: str) -> bytes | None:
        """Return the value of ``key``, None when absent or expired."""
        return self._get(key)

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value`` under ``key``."""
        expires = None if ttl_s is None else self._clock() + ttl_s
        self._data[key] = (value, expires)

    async def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take or renew the lease for ``owner``."""
        held = self._get(key)
        if held is not None and held != owner.encode():
            return False
        self._data[key] = (owner.encode(), self._clock() + ttl_s)
        return True

    async def release(self, key: str, owner: str) -> bool:
        """Drop the lease on ``key`` when ``owner`` holds it."""
        if self._get(key) != owner.encode():
            return False
        del self._data[key]
        return True

    async def hset(self, key: str, field: str, value: bytes) -> None:
        """Set one field of a hash."""
        self._hashes.setdefault(key, {})[field] = value

    async def hgetall(self, key: str) -> dict[str, bytes]:
        """Return a copy of every field of a hash."""
        return dict(self._hashes.get(key, {}))

    async def hdel(self, key: str, *fields: str) -> None:
        """Remove fields of a hash."""
        found = self._hashes.get(key)
        if found is None:
            return
        for field in fields:
            found.pop(field, None)

    async def close(self) -> None:
        """Nothing to release."""
