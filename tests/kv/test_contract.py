"""One contract, every shared-state backend: memory, a directory and a real Redis."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from barberpro.kv import Backend, KeyValueStore, SharedState, UnsupportedURL
from tests.conftest import REDIS_URL


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("directory", id="directory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedState]:
    """The shared state of each backend, closed after the test."""
    url = {"memory": "memory://", "directory": tmp_path.as_uri(), "redis": REDIS_URL}
    shared = SharedState(url[request.param])
    try:
        yield shared
    finally:
        await shared.close()


@pytest.fixture
def key() -> str:
    """A key no other test uses (the Redis database is shared by the suite)."""
    return f"test:kv:{uuid.uuid4().hex}"


class TestKeyValueContract:
    """What every part that shares state relies on, whichever backend holds it."""

    async def test_ping_answers(self, state: SharedState) -> None:
        """A reachable store answers PING."""
        assert await state.store.ping()

    async def test_values_round_trip_and_replace(self, state: SharedState, key: str) -> None:
        """A value reads back as written; a second write replaces it; a missing key is None."""
        store = state.store
        assert await store.get(key) is None
        await store.set(key, b"one\nwith a newline")
        assert await store.get(key) == b"one\nwith a newline"
        await store.set(key, b"two")
        assert await store.get(key) == b"two"

    async def test_a_value_expires_after_its_ttl(self, state: SharedState, key: str) -> None:
        """A value written with a TTL is gone once the TTL has passed."""
        await state.store.set(key, b"soon gone", ttl_s=0.05)
        assert await state.store.get(key) == b"soon gone"
        await asyncio.sleep(0.2)
        assert await state.store.get(key) is None

    async def test_only_one_of_many_concurrent_owners_gets_the_lease(
        self, state: SharedState, key: str
    ) -> None:
        """Twenty owners asking at once: exactly one wins."""
        store = state.store
        results = await asyncio.gather(*(store.acquire(key, f"owner-{i}", 10) for i in range(20)))
        assert sum(results) == 1

    async def test_owner_renews_and_others_wait_until_release(
        self, state: SharedState, key: str
    ) -> None:
        """The holder renews its lease; another gets it only once it is released."""
        store = state.store
        assert await store.acquire(key, "a", 10)
        assert await store.acquire(key, "a", 10)  # renewal
        assert not await store.acquire(key, "b", 10)
        assert not await store.release(key, "b")  # not b's to release
        assert not await store.acquire(key, "b", 10)
        assert await store.release(key, "a")
        assert await store.acquire(key, "b", 10)
        assert await store.release(key, "b")

    async def test_an_expired_lease_goes_to_another_owner(
        self, state: SharedState, key: str
    ) -> None:
        """A lease not renewed within its TTL is free; the old owner cannot renew it back."""
        store = state.store
        assert await store.acquire(key, "a", 0.05)
        await asyncio.sleep(0.2)
        assert await store.acquire(key, "b", 10)
        assert not await store.acquire(key, "a", 10)
        assert not await store.release(key, "a")
        assert await store.release(key, "b")

    async def test_hash_fields_are_set_read_and_deleted_apart(
        self, state: SharedState, key: str
    ) -> None:
        """Each field is replaced on its own; deleting some leaves the others."""
        store = state.store
        assert await store.hgetall(key) == {}
        await store.hset(key, "host-a:101", b"first")
        await store.hset(key, "host-b:202", b"second")
        await store.hset(key, "host-a:101", b"first, again")
        assert await store.hgetall(key) == {"host-a:101": b"first, again", "host-b:202": b"second"}
        await store.hdel(key, "host-a:101", "never-there")
        await store.hdel(key)
        assert await store.hgetall(key) == {"host-b:202": b"second"}
        await store.hdel(key, "host-b:202")

    async def test_keys_that_differ_only_in_punctuation_stay_apart(
        self, state: SharedState, key: str
    ) -> None:
        """``a:b`` and ``a_b`` are two keys on every backend (no lossy file names)."""
        await state.store.set(f"{key}:a:b", b"colon")
        await state.store.set(f"{key}:a_b", b"underscore")
        assert await state.store.get(f"{key}:a:b") == b"colon"
        assert await state.store.get(f"{key}:a_b") == b"underscore"


def _take_lease(directory: str, key: str, owner: str, results: multiprocessing.Queue[bool]) -> None:
    store = SharedState(Path(directory).as_uri()).store
    results.put(asyncio.run(store.acquire(key, owner, 30)))


def test_workers_of_one_host_share_a_directory_lease(tmp_path: Path) -> None:
    """Four processes on one directory: exactly one holds the lease."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[bool] = context.Queue()
    workers = [
        context.Process(target=_take_lease, args=(str(tmp_path), "leader", f"w{i}", results))
        for i in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(results.get(timeout=5) for _ in workers) == [False, False, False, True]


@pytest.mark.parametrize(
    ("url", "backend", "shared"),
    [
        ("memory://", Backend.MEMORY, False),
        (None, Backend.MEMORY, False),
        ("file:///tmp/barberpro-state", Backend.DIRECTORY, True),
        ("redis://127.0.0.1:6379/0", Backend.REDIS, True),
        ("rediss://cache.example:6380/1", Backend.REDIS, True),
    ],
)
def test_the_url_chooses_the_backend(url: str | None, backend: Backend, shared: bool) -> None:
    """The scheme alone picks the backend; nothing connects until the store is used."""
    state = SharedState(url)
    assert (state.backend, state.shared) == (backend, shared)


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "file://", "postgresql://x/y"])
def test_an_unknown_url_is_refused_naming_it(url: str) -> None:
    """A URL no backend takes raises UnsupportedURL with the URL in its message."""
    with pytest.raises(UnsupportedURL, match=r"memcached|file|postgresql"):
        SharedState(url)


def test_socketio_rooms_span_instances_only_through_redis(tmp_path: Path) -> None:
    """Redis gives Socket.IO a Redis manager; memory and a directory keep rooms in-process."""
    assert SharedState("memory://").socketio_manager("ch") is None
    assert SharedState(tmp_path.as_uri()).socketio_manager("ch") is None
    manager = SharedState("redis://127.0.0.1:6379/15").socketio_manager("ch")
    assert type(manager).__name__ == "AsyncRedisManager"


def _stores() -> list[type[KeyValueStore]]:
    from barberpro.kv.directory import DirectoryStore
    from barberpro.kv.memory import MemoryStore
    from barberpro.kv.redis import RedisStore

    return [MemoryStore, DirectoryStore, RedisStore]


def test_every_store_has_the_whole_surface() -> None:
    """Each backend's store defines every method of the KeyValueStore protocol."""
    wanted = {n for n in dir(KeyValueStore) if not n.startswith("_")}
    for store in _stores():
        assert wanted <= set(dir(store)), store.__name__
