"""The Day-7 rules on hand-made operations: each speaks with its figures, or says nothing."""

from __future__ import annotations

from typing import Any

import pytest

from barberpro.report import advice
from barberpro.report.operations import Thresholds, judge

LIMITS = Thresholds()
DAY_S = 86_400.0


def route(path: str, method: str, count: int, p95_ms: float, p50_ms: float = 5.0) -> Any:
    return {
        "route": path,
        "method": method,
        "count": count,
        "p50_ms": p50_ms,
        "p95_ms": p95_ms,
        "p95_status": judge(p95_ms, LIMITS),
    }


def ops(
    routes: list[dict[str, Any]] | None = None,
    *,
    served_s: float = DAY_S,
    slowest: list[dict[str, Any]] | None = None,
    queries: int = 500,
    webhooks: tuple[int, int] = (0, 0),
    payments: dict[str, dict[str, int]] | None = None,
    system: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An operations section as build.operations makes it, with only what the rules read."""
    routes = [route("/api/v1/analytics/action", "POST", 100, 20.0)] if routes is None else routes
    requests = sum(r["count"] for r in routes)
    hourly = [{"hour": h, "requests": 0, "rps": 0.0, "p95_ms": None} for h in range(24)]
    hourly[18] = {"hour": 18, "requests": requests, "rps": round(requests / 3600, 3), "p95_ms": 20}
    count, failures = webhooks
    success = (count - failures) / count if count else None
    events = {
        method: {**statuses, "rejected_rate": statuses.get("rejected", 0) / sum(statuses.values())}
        for method, statuses in (payments or {}).items()
    }
    return {
        "served_s": served_s,
        "http": {"requests": requests, "p95_ms": 20.0, "routes": routes},
        "hourly": hourly,
        "db": {"queries": queries, "slowest": slowest or []},
        "webhooks": {
            "count": count,
            "failures": failures,
            "success_rate": success,
            "target": LIMITS.webhook_success_target,
            "meets_target": None if success is None else success >= 0.99,
        },
        "payment_events": events,
        "system": system or {"pool_use_max": 0.1, "cpu_percent_max": 20.0},
    }


def kinds(found: list[dict[str, Any]]) -> list[str]:
    return [item["kind"] for item in found]


def one(found: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (item,) = (item for item in found if item["kind"] == kind)
    assert set(item) == {"area", "kind", "message", "evidence"}
    return item


def test_a_slow_route_asks_for_capacity_with_its_figures() -> None:
    """A route over the warning p95 gives add_capacity naming it, its count and its p95."""
    routes = [
        route("/api/v1/analytics/action", "POST", 9000, 40.0),
        route("/api/v1/analytics/business-intelligence", "GET", 30, 420.0, p50_ms=300.0),
    ]
    item = one(advice.day7(ops(routes), {}, LIMITS), "add_capacity")
    assert item["area"] == "scaling"
    evidence = item["evidence"]
    assert evidence["routes_over_threshold"] == [
        {
            "route": "/api/v1/analytics/business-intelligence",
            "method": "GET",
            "count": 30,
            "p95_ms": 420.0,
        }
    ]
    assert (evidence["requests"], evidence["peak_hour"]) == (9030, 18)
    assert evidence["busiest_routes"][0]["route"] == "/api/v1/analytics/action"  # 45 s of time
    assert "1 route(s) over the 150 ms p95" in item["message"]
    assert "18:00 ART" in item["message"]


def test_routes_under_the_thresholds_say_capacity_held() -> None:
    """No route over 150 ms, pool and CPU low: capacity_holds, with the same evidence."""
    item = one(advice.day7(ops(), {}, LIMITS), "capacity_holds")
    assert item["evidence"]["routes_over_threshold"] == []
    assert "add_capacity" not in kinds(advice.day7(ops(), {}, LIMITS))


@pytest.mark.parametrize(
    ("system", "reason"),
    [
        ({"pool_use_max": 0.85, "cpu_percent_max": 20.0}, "pool use reached 85%"),
        ({"pool_use_max": None, "cpu_percent_max": 92.0}, "CPU reached 92%"),
    ],
)
def test_a_busy_pool_or_cpu_asks_for_capacity(system: dict[str, Any], reason: str) -> None:
    item = one(advice.day7(ops(system=system), {}, LIMITS), "add_capacity")
    assert reason in item["message"]


def test_a_fingerprint_over_50_ms_is_a_slow_query() -> None:
    """Only the shape over the 50 ms database threshold is named, with its figures."""
    slowest = [
        {
            "fingerprint": "SELECT * FROM payments WHERE province = ?",
            "operation": "select",
            "count": 120,
            "p95_ms": 73.5,
            "total_ms": 6400.0,
        },
        {
            "fingerprint": "INSERT INTO sessions (session_id) VALUES (?)",
            "operation": "insert",
            "count": 900,
            "p95_ms": 50.0,
            "total_ms": 1200.0,
        },
    ]
    found = advice.day7(ops(slowest=slowest), {}, LIMITS)
    item = one(found, "slow_query")
    assert item["area"] == "database_indexes"
    assert item["evidence"] == {
        "fingerprint": "SELECT * FROM payments WHERE province = ?",
        "operation": "select",
        "count": 120,
        "p95_ms": 73.5,
        "total_ms": 6400.0,
        "threshold_ms": 50.0,
    }
    assert "p95 73.5 ms over 120 runs" in item["message"]
    assert "queries_fast" not in kinds(found)


def test_fast_queries_say_no_index_is_needed() -> None:
    slowest = [
        {"fingerprint": "SELECT 1", "operation": "select", "count": 5, "p95_ms": 2.0, "total_ms": 9}
    ]
    item = one(advice.day7(ops(slowest=slowest), {}, LIMITS), "queries_fast")
    assert item["evidence"]["slowest"]["fingerprint"] == "SELECT 1"


def test_a_hot_read_route_is_worth_caching() -> None:
    """36,000 reads of the dashboard in an hour is 10 a second: with a 10 s cache, 99 % of them
    would be hits. A cold read route, a route outside the read prefixes, and writes are not."""
    routes = [
        route("/api/v1/analytics/dashboard", "GET", 36_000, 80.0),
        route("/api/v1/analytics/business-intelligence", "GET", 25, 300.0),
        route("/api/v1/alerts", "GET", 50_000, 3.0),
        route("/api/v1/analytics/action", "POST", 7200, 8.0),
    ]
    found = advice.day7(ops(routes, served_s=3600.0), {}, LIMITS)
    item = one(found, "cache_read_route")
    assert item["area"] == "cache"
    assert item["evidence"] == {
        "route": "/api/v1/analytics/dashboard",
        "reads": 36_000,
        "reads_per_s": 10.0,
        "writes": 7200,
        "writes_per_s": 2.0,
        "p95_ms": 80.0,
        "ttl_s": advice.CACHE_TTL_S,
        "expected_hit_rate": 0.99,
    }
    assert "about 99% of reads" in item["message"]
    assert "2.00 times/s" in item["message"]


def test_a_route_read_under_once_a_lifetime_is_not_cached() -> None:
    """Reads under one per 2 cache lifetimes (a hit rate under 50 %) give no cache advice."""
    routes = [route("/api/v1/monitoring/dashboard", "GET", 400, 30.0)]  # 0.0046/s over a day
    assert "cache_read_route" not in kinds(advice.day7(ops(routes), {}, LIMITS))


@pytest.mark.parametrize(
    ("statuses", "flagged"),
    [
        ({"approved": 8, "rejected": 2}, True),  # 20 % of 10
        ({"approved": 6, "rejected": 3}, False),  # 33 %, but only 9 events
        ({"approved": 9, "rejected": 1}, False),  # 10 %
    ],
)
def test_a_method_with_many_rejections_is_named(statuses: dict[str, int], flagged: bool) -> None:
    """From 20 % rejections over at least 10 events a method gets method_rejections."""
    found = advice.day7(ops(payments={"naranja": statuses}), {}, LIMITS)
    if not flagged:
        assert "method_rejections" not in kinds(found)
        return
    item = one(found, "method_rejections")
    assert item["area"] == "payment_flow"
    assert item["evidence"] == {
        "payment_method": "naranja",
        "events": 10,
        "rejected_share": 0.2,
        "threshold": advice.HIGH_REJECTION,
    }
    assert item["message"].startswith("naranja: 20% of its 10 payment events were rejections")


@pytest.mark.parametrize(("count", "failures", "flagged"), [(200, 3, True), (100, 1, False)])
def test_webhooks_under_99_percent_are_named(count: int, failures: int, flagged: bool) -> None:
    """98.5 % of webhooks succeeding is under the target; 99 % meets it."""
    found = advice.day7(ops(webhooks=(count, failures)), {}, LIMITS)
    if not flagged:
        assert "webhook_reliability" not in kinds(found)
        return
    item = one(found, "webhook_reliability")
    assert item["evidence"] == {
        "count": 200,
        "failures": 3,
        "success_rate": 0.985,
        "target": 0.99,
    }
    assert "succeeded 98.50%, under the 99% target: 3 of 200 failed" in item["message"]


def test_the_business_reports_recommendations_join_with_an_area() -> None:
    """The business-intelligence report's own recommendations keep their words and evidence."""
    bi = {
        "recommendations": [
            {"kind": "funnel_leak", "message": "Step 3 leaks", "evidence": {"units": 40}},
            {"kind": "underserved_province", "message": "Salta", "evidence": {"demand": 9}},
            {"kind": "something_new", "message": "New", "evidence": {}},
        ]
    }
    found = advice.day7(ops(), bi, LIMITS)[-3:]
    assert [(item["area"], item["kind"]) for item in found] == [
        ("user_experience", "funnel_leak"),
        ("market", "underserved_province"),
        ("business", "something_new"),
    ]
    assert found[0] == {
        "area": "user_experience",
        "kind": "funnel_leak",
        "message": "Step 3 leaks",
        "evidence": {"units": 40},
    }


def test_a_day_without_requests_or_queries_has_nothing_to_say() -> None:
    assert advice.day7(ops([], queries=0), {}, LIMITS) == []
