"""The leadership lease of the key-value store, on memory and on a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from barberpro.alerts.local import DirectoryStore
from barberpro.kv import KeyValueStore, store_from_url
from tests.conftest import REDIS_URL


@pytest.fixture(
    params=[pytest.param("memory://"), pytest.param(REDIS_URL, marks=pytest.mark.redis)]
)
async def kv(request: pytest.FixtureRequest) -> AsyncIterator[KeyValueStore]:
    """Each test runs on the in-process store and on Redis."""
    store = store_from_url(request.param)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def key() -> str:
    """A lease key no other test uses."""
    return f"test:lease:{uuid.uuid4().hex}"


async def test_only_one_of_many_concurrent_owners_gets_the_lease(
    kv: KeyValueStore, key: str
) -> None:
    """Twenty owners asking at once: exactly one wins."""
    results = await asyncio.gather(*(kv.acquire(key, f"owner-{i}", 10) for i in range(20)))
    assert sum(results) == 1


async def test_owner_renews_and_others_wait_until_release(kv: KeyValueStore, key: str) -> None:
    """The holder renews its lease; another gets it only once it is released."""
    assert await kv.acquire(key, "a", 10)
    assert await kv.acquire(key, "a", 10)  # renewal
    assert not await kv.acquire(key, "b", 10)
    assert not await kv.release(key, "b")  # not b's to release
    assert not await kv.acquire(key, "b", 10)
    assert await kv.release(key, "a")
    assert await kv.acquire(key, "b", 10)
    await kv.release(key, "b")


async def test_an_expired_lease_goes_to_another_owner(kv: KeyValueStore, key: str) -> None:
    """A lease not renewed within its TTL is free; the old owner cannot renew it back."""
    assert await kv.acquire(key, "a", 0.05)
    await asyncio.sleep(0.2)
    assert await kv.acquire(key, "b", 10)
    assert not await kv.acquire(key, "a", 10)
    assert not await kv.release(key, "a")
    await kv.release(key, "b")


async def test_directory_store_lets_one_holder_at_a_time(tmp_path: Path) -> None:
    """Workers sharing a directory: one flock holder; the lease passes on release."""
    first, second = DirectoryStore(tmp_path), DirectoryStore(tmp_path)
    assert await first.acquire("barberpro:alerts:leader", "a", 30)
    assert await first.acquire("barberpro:alerts:leader", "a", 30)  # renewal
    assert not await second.acquire("barberpro:alerts:leader", "b", 30)
    await first.close()  # what the kernel does when the holder dies
    assert await second.acquire("barberpro:alerts:leader", "b", 30)
    await second.set("barberpro:alerts:state", b"{}")
    assert await first.get("barberpro:alerts:state") == b"{}"
    assert await first.get("missing") is None
    await second.close()
