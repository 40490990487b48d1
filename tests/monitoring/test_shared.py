"""The shared view: processes publish their windows; each merges the others' without doubling."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from barberpro.kv import KeyValueStore, SharedState
from barberpro.monitoring.service import Monitor, MonitorConfig
from barberpro.monitoring.signals import MonitorSignals
from tests.conftest import REDIS_URL

KEY = ("http", "/api/v1/analytics/action", "POST", "2xx")


def _pair(shared: KeyValueStore) -> tuple[Monitor, Monitor]:
    return (
        Monitor(MonitorConfig(instance="api-a"), shared=shared),
        Monitor(MonitorConfig(instance="api-b"), shared=shared),
    )


async def _exercise(a: Monitor, b: Monitor) -> None:
    try:
        await a.start()
        await b.start()
        for _ in range(3):
            a.ring.record(KEY, 10.0)
        for _ in range(5):
            b.ring.record(KEY, 20.0, error=True)
        b.websockets.opened("sid-1")
        for _ in range(3):  # publishing again must replace, never add
            await a.shared.publish()
            await b.shared.publish()
        a.shared._read_at = float("-inf")  # read now, not from the half-interval cache
        merged = await a.merged(300)
        stat = merged.series[KEY]
        assert (stat.count, stat.errors) == (8, 5)
        assert {p["id"] for p in merged.processes} == {a.process_id, b.process_id}
        connections = await MonitorSignals(a).sample(
            "concurrent_connections", window_s=60, labels={}
        )
        assert connections.value == 1
    finally:
        await a.stop()
        await b.stop()


async def test_file_snapshots_merge_processes(tmp_path: Path) -> None:
    """Two workers sharing a directory see 3 + 5 requests as 8, whoever is asked."""
    state = SharedState(tmp_path.as_uri())
    try:
        await _exercise(*_pair(state.store))
    finally:
        await state.close()


@pytest.mark.redis
async def test_redis_snapshots_merge_instances() -> None:
    """Two instances sharing Redis see each other's requests exactly once."""
    key = f"barberpro:test:{uuid.uuid4().hex}"
    state = SharedState(REDIS_URL)
    try:
        a, b = _pair(state.store)
        a.shared._key = b.shared._key = key  # this test's own hash in the suite's database
        await _exercise(a, b)
    finally:
        await state.store.hdel(key, a.process_id, b.process_id)
        await state.close()


async def test_a_silent_peer_keeps_its_counts_but_not_its_gauges(tmp_path: Path) -> None:
    """A stopped worker's requests stay in the windows; its connections stop counting."""
    clock_a = [1_800_000_000.0]
    store = SharedState(tmp_path.as_uri()).store
    a = Monitor(MonitorConfig(instance="a"), shared=store, clock=lambda: clock_a[0])
    b = Monitor(MonitorConfig(instance="b"), shared=store, clock=lambda: clock_a[0])
    b.ring.record(KEY, 1.0)
    b.websockets.opened("sid-1")
    await b.shared.publish()
    clock_a[0] += 60  # b has been silent for a minute
    merged = await a.merged(300)
    assert merged.series[KEY].count == 1
    assert len(merged.live) == 1  # only a's own live state
