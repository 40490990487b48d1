"""The Redis store, shared by every instance of the service."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError


class RedisStore:
    """A KeyValueStore on Redis."""

    def __init__(self, client: Redis) -> None:
        self._client = client

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """Return a store for ``redis://host:port/db`` (no connection is made yet)."""
        return cls(Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2))

    async def ping(self) -> bool:
        """Return True when Redis answers PING."""
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def get(self, key: str) -> bytes | None:
        """Return the value of ``key``."""
        value = await self._client.get(key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value`` under ``key``."""
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        await self._client.set(key, value, px=px)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
