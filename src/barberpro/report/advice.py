"""Day-7 recommendations of the launch report, each with the figures it rests on.

Five areas, as the launch plan asks: scaling priorities (measured load, latency, pool use),
database indexes (the slowest fingerprints), cache strategy (read traffic against how often the
data changed), the payment flow (rejections by method and cuotas, webhook reliability) and the
user experience (funnel leaks per breakdown, from the business-intelligence report's own
significance-tested recommendations). A rule with nothing to measure says nothing.
"""

from __future__ import annotations

from typing import Any

from barberpro.report.operations import Thresholds

#: A read route is considered for caching from this many reads in the day.
MIN_READS = 20
#: The cache lifetime the cache advice prices (seconds): short enough for launch-day figures.
CACHE_TTL_S = 10
#: A payment method's rejections are worth a look from this share, over MIN_PAYMENTS events.
HIGH_REJECTION = 0.20
MIN_PAYMENTS = 10
#: Pool use and CPU from which an instance is short of capacity.
POOL_PRESSURE = 0.80
CPU_PRESSURE = 80.0

_READ_PREFIXES = (
    "/api/v1/analytics/dashboard",
    "/api/v1/analytics/business-intelligence",
    "/api/v1/monitoring/",
    "/api/v1/payments/",
)
_BI_AREAS = {
    "funnel_leak": "user_experience",
    "referral_channels": "user_experience",
    "underserved_province": "market",
    "installments_low_approval": "payment_flow",
    "peak_hours": "scaling",
}


def _item(area: str, kind: str, message: str, evidence: dict[str, Any]) -> dict[str, Any]:
    return {"area": area, "kind": kind, "message": message, "evidence": evidence}


def _scaling(ops: dict[str, Any], limits: Thresholds) -> list[dict[str, Any]]:
    http = ops["http"]
    if not http["requests"]:
        return []
    peak = max(ops["hourly"], key=lambda h: h["requests"])
    over = [
        {"route": r["route"], "method": r["method"], "count": r["count"], "p95_ms": r["p95_ms"]}
        for r in http["routes"]
        if r["p95_status"] in ("warning", "critical")
    ]
    time_spent = sorted(http["routes"], key=lambda r: -(r["count"] * (r["p50_ms"] or 0.0)))[:3]
    system = ops["system"]
    evidence = {
        "requests": http["requests"],
        "peak_hour": peak["hour"],
        "peak_hour_rps": peak["rps"],
        "peak_hour_p95_ms": peak["p95_ms"],
        "p95_ms": http["p95_ms"],
        "routes_over_threshold": over,
        "pool_use_max": system.get("pool_use_max"),
        "cpu_percent_max": system.get("cpu_percent_max"),
        "memory_percent_max": system.get("memory_percent_max"),
        "busiest_routes": [
            {"route": r["route"], "method": r["method"], "count": r["count"]} for r in time_spent
        ],
    }
    pool = system.get("pool_use_max") or 0.0
    cpu = system.get("cpu_percent_max") or 0.0
    pressed = bool(over) or pool >= POOL_PRESSURE or cpu >= CPU_PRESSURE
    if pressed:
        reasons = []
        if over:
            reasons.append(f"{len(over)} route(s) over the {limits.p95_warning_ms:g} ms p95")
        if pool >= POOL_PRESSURE:
            reasons.append(f"pool use reached {pool:.0%}")
        if cpu >= CPU_PRESSURE:
            reasons.append(f"CPU reached {cpu:.0f}%")
        message = (
            f"Add capacity before day 7: {', '.join(reasons)}; the peak hour "
            f"({peak['hour']:02d}:00 ART) ran {peak['rps']:g} requests/s. Start with "
            f"{time_spent[0]['method']} {time_spent[0]['route']}, where most time goes."
        )
        return [_item("scaling", "add_capacity", message, evidence)]
    message = (
        f"Capacity held: the peak hour ({peak['hour']:02d}:00 ART) ran {peak['rps']:g} "
        f"requests/s with p95 {peak['p95_ms']} ms, every route under "
        f"{limits.p95_warning_ms:g} ms; plan day 7 from this peak."
    )
    return [_item("scaling", "capacity_holds", message, evidence)]


def _indexes(ops: dict[str, Any], limits: Thresholds) -> list[dict[str, Any]]:
    db = ops["db"]
    if not db["queries"]:
        return []
    slow = [f for f in db["slowest"] if (f["p95_ms"] or 0.0) > limits.db_p95_warning_ms]
    found = []
    for shape in slow:
        evidence = {
            k: shape[k] for k in ("fingerprint", "operation", "count", "p95_ms", "total_ms")
        }
        evidence["threshold_ms"] = limits.db_p95_warning_ms
        found.append(
            _item(
                "database_indexes",
                "slow_query",
                f"Review the indexes of this {shape['operation']}: p95 {shape['p95_ms']} ms over "
                f"{shape['count']} runs, {shape['total_ms']:.0f} ms in all.",
                evidence,
            )
        )
    if not found:
        top = db["slowest"][0] if db["slowest"] else None
        found.append(
            _item(
                "database_indexes",
                "queries_fast",
                f"No query shape had a p95 over {limits.db_p95_warning_ms:g} ms "
                f"({db['queries']} queries); no index is needed yet.",
                {
                    "queries": db["queries"],
                    "slowest": top,
                    "threshold_ms": limits.db_p95_warning_ms,
                },
            )
        )
    return found


def _cache(ops: dict[str, Any]) -> list[dict[str, Any]]:
    routes = ops["http"]["routes"]
    seconds = ops["served_s"]
    writes = sum(r["count"] for r in routes if r["method"] == "POST")
    writes_per_s = writes / seconds
    found = []
    for route in routes:
        if route["method"] != "GET" or route["count"] < MIN_READS:
            continue
        if not route["route"].startswith(_READ_PREFIXES):
            continue
        reads_per_s = route["count"] / seconds
        per_ttl = reads_per_s * CACHE_TTL_S
        # Reads inside one lifetime share one computation: all but the first are hits.
        hit = max(0.0, 1 - 1 / per_ttl) if per_ttl > 0 else 0.0
        evidence = {
            "route": route["route"],
            "reads": route["count"],
            "reads_per_s": round(reads_per_s, 4),
            "writes": writes,
            "writes_per_s": round(writes_per_s, 4),
            "p95_ms": route["p95_ms"],
            "ttl_s": CACHE_TTL_S,
            "expected_hit_rate": round(hit, 4),
        }
        if hit < 0.5:
            continue
        changes = (
            f"the data changed {writes_per_s:.2f} times/s"
            if writes
            else "no ingestion changed the data"
        )
        found.append(
            _item(
                "cache",
                "cache_read_route",
                f"Cache GET {route['route']} for {CACHE_TTL_S} s: read {reads_per_s:.2f} times/s "
                f"while {changes}; about {hit:.0%} of reads would be served from the cache, at "
                f"most {CACHE_TTL_S} s old.",
                evidence,
            )
        )
    return found


def _payments(ops: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for method, counts in ops["payment_events"].items():
        total = sum(v for k, v in counts.items() if k != "rejected_rate")
        share = counts["rejected_rate"] or 0.0
        if total >= MIN_PAYMENTS and share >= HIGH_REJECTION:
            found.append(
                _item(
                    "payment_flow",
                    "method_rejections",
                    f"{method}: {share:.0%} of its {total} payment events were rejections; check "
                    "its checkout flow and offer another method on rejection.",
                    {
                        "payment_method": method,
                        "events": total,
                        "rejected_share": share,
                        "threshold": HIGH_REJECTION,
                    },
                )
            )
    webhooks = ops["webhooks"]
    if webhooks["count"] and webhooks["meets_target"] is False:
        found.append(
            _item(
                "payment_flow",
                "webhook_reliability",
                f"MercadoPago webhooks succeeded {webhooks['success_rate']:.2%}, under the "
                f"{webhooks['target']:.0%} target: {webhooks['failures']} of "
                f"{webhooks['count']} failed.",
                {
                    "count": webhooks["count"],
                    "failures": webhooks["failures"],
                    "success_rate": webhooks["success_rate"],
                    "target": webhooks["target"],
                },
            )
        )
    return found


def day7(ops: dict[str, Any], bi: dict[str, Any], limits: Thresholds) -> list[dict[str, Any]]:
    """Return the Day-7 recommendations of one day's operations and business report."""
    found = [*_scaling(ops, limits), *_indexes(ops, limits), *_cache(ops), *_payments(ops)]
    for item in bi.get("recommendations", []):
        area = _BI_AREAS.get(item["kind"], "business")
        found.append({"area": area, **item})
    return found
