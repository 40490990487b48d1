"""Sliding windows: slots by wall time, 1/5/15 minute merges, exports other processes read."""

from __future__ import annotations

from barberpro.monitoring.windows import (
    KEEP_S,
    SLOT_S,
    WINDOWS_S,
    Ring,
    covered_seconds,
    load,
    window,
)


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_windows_hold_only_their_trailing_slots() -> None:
    """A request 3 minutes old is in the 5m and 15m windows, not in the 1m one."""
    clock = Clock()
    ring = Ring(clock)
    ring.record(("http", "/a", "GET", "2xx"), 10.0)
    clock.now += 180
    ring.record(("http", "/a", "GET", "2xx"), 20.0)
    counts = {
        name: window([ring.slots()], now=clock.now, window_s=s)[("http", "/a", "GET", "2xx")].count
        for name, s in WINDOWS_S.items()
    }
    assert counts == {"1m": 1, "5m": 2, "15m": 2}


def test_slots_older_than_fifteen_minutes_are_dropped() -> None:
    """The ring keeps 15 minutes; older slots leave memory when the ring rotates."""
    clock = Clock()
    ring = Ring(clock)
    ring.add(("ws", "opened"))
    clock.now += KEEP_S + SLOT_S
    ring.add(("ws", "opened"))
    assert [sum(s.count for s in series.values()) for _, series in ring.slots()] == [1]


def test_exports_of_two_processes_merge_without_double_counting() -> None:
    """Two rings' exports merged slot by slot count every event once."""
    clock = Clock()
    first, second = Ring(clock), Ring(clock)
    for _ in range(3):
        first.record(("http", "/a", "GET", "2xx"), 5.0)
    clock.now += 25
    for _ in range(4):
        second.record(("http", "/a", "GET", "5xx"), 50.0, error=True)
        first.record(("http", "/a", "GET", "2xx"), 5.0)
    merged = window(
        [load(first.export()), load(second.export())], now=clock.now, window_s=WINDOWS_S["5m"]
    )
    assert merged[("http", "/a", "GET", "2xx")].count == 7
    assert merged[("http", "/a", "GET", "5xx")].errors == 4


def test_kinds_filter_keeps_only_asked_series() -> None:
    """A window over some kinds leaves the other kinds out."""
    clock = Clock()
    ring = Ring(clock)
    ring.add(("db_conn_fail",))
    ring.record(("db", "SELECT ?", "select"), 1.0)
    merged = window([ring.slots()], now=clock.now, window_s=60, kinds=frozenset({"db"}))
    assert list(merged) == [("db", "SELECT ?", "select")]


def test_covered_seconds_stop_at_the_first_process_start() -> None:
    """A process up for 20 s does not divide its requests by 300 s."""
    now = 1_800_000_005.0
    assert covered_seconds(now=now, window_s=300, since=now - 20) == 20
    assert covered_seconds(now=now, window_s=300, since=0) <= 300
