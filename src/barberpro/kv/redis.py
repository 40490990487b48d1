"""The Redis store, shared by every instance of the service."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["RedisStore"]

# Renew only the owner's own lease: GET and PEXPIRE in one step, so a lease that expired and
# was taken by another instance meanwhile is never extended by the old owner.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


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
        return None if value is None else _bytes(value)

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Store ``value`` under ``key``."""
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        await self._client.set(key, value, px=px)

    async def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        """Take the lease with SET NX PX, else renew it when ``owner`` already holds it."""
        px = max(1, int(ttl_s * 1000))
        if await self._client.set(key, owner.encode(), nx=True, px=px):
            return True
        renewed = await self._client.eval(_RENEW, 1, key, owner.encode(), px)
        return bool(renewed)

    async def release(self, key: str, owner: str) -> bool:
        """Drop the lease on ``key`` when ``owner`` holds it (checked inside Redis)."""
        dropped = await self._client.eval(_RELEASE, 1, key, owner.encode())
        return bool(dropped)

    async def hset(self, key: str, field: str, value: bytes) -> None:
        """HSET one field."""
        await self._client.hset(key, field, value)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        """HGETALL, with the field names decoded."""
        raw: dict[Any, Any] = await self._client.hgetall(key)
        return {(k.decode() if isinstance(k, bytes) else str(k)): _bytes(v) for k, v in raw.items()}

    async def hdel(self, key: str, *fields: str) -> None:
        """HDEL the fields (nothing to do without any)."""
        if fields:
            await self._client.hdel(key, *fields)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
