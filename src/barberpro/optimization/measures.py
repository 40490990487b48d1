"""What the engine measures: a cacheable route, a query shape, every request, over a window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.windows import Key
from barberpro.optimization.decisions import Measure, RouteWindow


def route_window(series: Mapping[Key, Stat], route: str) -> RouteWindow:
    """Return a cacheable route's figures over a window of merged series.

    Computed answers are the cache's misses, plus every answer given while its cache was off
    (those the cache did not see); their p95 is the route's cost without the cache.
    """
    answers = Stat(LATENCY_EDGES_MS)
    misses = Stat(LATENCY_EDGES_MS)
    hits = 0
    for key, stat in series.items():
        # Answered reads only: a 401, a 422 or a shed 503 says nothing of the route's cost.
        if key[0] == "http" and key[1] == route and key[2] == "GET" and key[3] == "2xx":
            answers.merge(stat)
        elif key[0] == "cache" and key[1] == route:
            if key[2] == "miss":
                misses.merge(stat)
            else:
                hits += stat.count
    uncached = max(0, answers.count - hits - misses.count)
    computed_p95 = misses.quantile(0.95) if misses.count else None
    if computed_p95 is None and uncached:
        computed_p95 = answers.quantile(0.95)
    return RouteWindow(
        requests=answers.count,
        p95_ms=answers.quantile(0.95),
        computed=misses.count + uncached,
        computed_p95_ms=computed_p95,
        hits=hits,
    )


def fingerprint_measure(series: Mapping[Key, Stat], fingerprint: str) -> Measure:
    """Return the p95 and count of one query shape over a window of merged series."""
    found = Stat(LATENCY_EDGES_MS)
    for key, stat in series.items():
        if key[0] == "db" and len(key) > 1 and key[1] == fingerprint:
            found.merge(stat)
    return Measure(found.quantile(0.95), found.count)


def overall_p95(series: Mapping[Key, Stat]) -> tuple[float | None, int]:
    """Return the p95 of every answered request and their count."""
    everything = Stat(LATENCY_EDGES_MS)
    for key, stat in series.items():
        if key[0] == "http":
            everything.merge(stat)
    return everything.quantile(0.95), everything.count


def audit_trigger(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return an audit row's trigger as a dict."""
    data = orjson.loads(row["trigger"])
    return data if isinstance(data, dict) else {}
