"""The report's operations section from hand-made days: thresholds and the processes' gauges."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from barberpro.argentina.timezone import art_day_bounds
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.ledger import SAMPLE_FIELDS, Day
from barberpro.report.operations import Thresholds, judge, operations

START, END = (int(t.timestamp()) for t in art_day_bounds(date(2026, 12, 4)))
NOON = START + 12 * 3600


def sample(process: str, at: float, **values: float) -> dict[str, Any]:
    found: dict[str, Any] = dict.fromkeys(SAMPLE_FIELDS, 0.0)
    found.update(at=at, process=process, **values)
    return found


def day_of(samples: list[dict[str, Any]]) -> Day:
    return Day(
        series={},
        http_by_hour={},
        samples=samples,
        processes=len({s["process"] for s in samples}),
        first_at=min(s["at"] for s in samples),
        last_at=max(s["at"] for s in samples),
    )


@pytest.mark.parametrize(
    ("p95_ms", "status"),
    [(None, "no_data"), (150.0, "ok"), (150.5, "warning"), (200.0, "warning"), (201, "critical")],
)
def test_a_p95_is_judged_against_the_alert_thresholds(p95_ms: float | None, status: str) -> None:
    """Over 150 ms is a warning, over 200 ms critical, as the api_p95 alert rules say."""
    assert judge(p95_ms, Thresholds()) == status


def test_a_process_sampled_often_counts_once_a_minute() -> None:
    """One process flushing every 15 s at 30 % memory: the day's maximum is 30 %, not 120 %;
    two processes in the same minute add up (workers share their instance's memory)."""
    one = [
        sample("api-1", NOON + s, memory_percent=30.0, cpu_percent=50.0, ws_active=4.0)
        for s in (0, 15, 30, 45)
    ]
    system = operations(day_of(one), start_s=START, end_s=END, limits=Thresholds())["system"]
    assert system["samples"] == 4
    assert (system["memory_percent_max"], system["memory_percent_avg"]) == (30.0, 30.0)
    assert (system["cpu_percent_max"], system["memory_over_threshold_minutes"]) == (50.0, 0)

    two = [
        *one,
        sample("api-2", NOON + 20, memory_percent=45.0, cpu_percent=10.0, ws_active=2.0),
        sample("api-2", NOON + 40, memory_percent=55.0, cpu_percent=20.0, ws_active=3.0),
        sample("api-1", NOON + 60, memory_percent=30.0, cpu_percent=50.0, ws_active=4.0),
    ]
    ops = operations(day_of(two), start_s=START, end_s=END, limits=Thresholds())
    system = ops["system"]
    # Minute one: 30 + 55 (api-2 at its highest); minute two: api-1 alone.
    assert system["memory_percent_max"] == 85.0
    assert system["memory_percent_avg"] == 57.5
    assert system["memory_over_threshold_minutes"] == 1
    assert system["cpu_percent_max"] == 70.0
    assert ops["websocket"]["peak_active"] == 7


def test_pool_use_is_the_busiest_minute_of_the_pools() -> None:
    """Pool use: checked-out connections over capacity, processes added up minute by minute."""
    samples = [
        sample("api-1", NOON, pool_checked_out=4.0, pool_capacity=20.0),
        sample("api-1", NOON + 30, pool_checked_out=16.0, pool_capacity=20.0),
        sample("api-2", NOON + 10, pool_checked_out=2.0, pool_capacity=20.0),
        sample("api-1", NOON + 90, pool_checked_out=1.0, pool_capacity=20.0),
    ]
    system = operations(day_of(samples), start_s=START, end_s=END, limits=Thresholds())["system"]
    assert system["pool_use_max"] == 0.45  # (16 + 2) / 40


def test_routes_and_hours_come_from_the_series() -> None:
    """Each route's p95 status and each ART hour's requests, from the merged series."""
    fast, slow = Stat(LATENCY_EDGES_MS), Stat(LATENCY_EDGES_MS)
    for _ in range(10):
        fast.record(4.0)
        slow.record(400.0)
    hour = NOON // 3600
    everything = Stat(LATENCY_EDGES_MS)
    everything.merge(fast)
    everything.merge(slow)
    day = Day(
        series={("http", "/a", "GET", "2xx"): fast, ("http", "/b", "POST", "2xx"): slow},
        http_by_hour={hour: everything},
        samples=[sample("api-1", NOON), sample("api-1", NOON + 100)],
        processes=1,
        first_at=NOON,
        last_at=NOON + 100,
    )
    ops = operations(day, start_s=START, end_s=END, limits=Thresholds())
    status = {(r["route"], r["method"]): r["p95_status"] for r in ops["http"]["routes"]}
    assert status == {("/a", "GET"): "ok", ("/b", "POST"): "critical"}
    assert ops["served_s"] == 100.0
    busy = [h for h in ops["hourly"] if h["requests"]]
    assert [(h["hour"], h["requests"], h["rps"]) for h in busy] == [(12, 20, 0.2)]
    assert len(ops["hourly"]) == 24
