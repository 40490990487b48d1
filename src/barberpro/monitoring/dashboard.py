"""GET /monitoring/dashboard: one window of every process, merged, as JSON."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import structlog

from barberpro.api.numbers import rate
from barberpro.argentina.provinces import province_label
from barberpro.argentina.timezone import iso_utc
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.service import Merged, Monitor
from barberpro.monitoring.websockets import NORMAL_REASONS
from barberpro.monitoring.windows import covered_seconds

log = structlog.get_logger(__name__)

SLOWEST = 10
SECTION_TIMEOUT_S = 2.0


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _latency(stat: Stat) -> dict[str, Any]:
    return {
        "p50_ms": _ms(stat.quantile(0.50)),
        "p95_ms": _ms(stat.quantile(0.95)),
        "p99_ms": _ms(stat.quantile(0.99)),
        "max_ms": _ms(stat.max if stat.count else None),
    }


def http_section(merged: Merged, seconds: float) -> dict[str, Any]:
    """Return per-route counts, rates, percentiles and error rates."""
    routes: dict[tuple[str, str], Stat] = {}
    by_class: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    db: dict[tuple[str, str], tuple[Stat | None, int]] = {}
    everything = Stat(LATENCY_EDGES_MS)
    for key, stat in merged.series.items():
        kind = key[0]
        if kind == "http":
            _kind, route, method, status_class = key
            into = routes.setdefault((route, method), Stat(LATENCY_EDGES_MS))
            into.merge(stat)
            everything.merge(stat)
            by_class[(route, method)][status_class] = stat.count
        elif kind == "http_db":
            found = db.get((key[1], key[2]), (None, 0))
            db[(key[1], key[2])] = (stat, found[1])
        elif kind == "http_dbq":
            found = db.get((key[1], key[2]), (None, 0))
            db[(key[1], key[2])] = (found[0], stat.count)
    rows = []
    for (route, method), stat in sorted(routes.items(), key=lambda kv: -kv[1].count):
        row: dict[str, Any] = {
            "route": route,
            "method": method,
            "count": stat.count,
            "rps": round(stat.count / seconds, 3),
            "error_rate": rate(stat.errors, stat.count) or 0.0,
            "errors": stat.errors,
            "status": dict(sorted(by_class[(route, method)].items())),
            **_latency(stat),
        }
        db_stat, db_queries = db.get((route, method), (None, 0))
        if db_stat is not None and db_stat.count:
            row["db_ms_per_request"] = round(db_stat.total / stat.count, 3)
            row["db_queries_per_request"] = round(db_queries / stat.count, 3)
        rows.append(row)
    return {
        "requests": everything.count,
        "rps": round(everything.count / seconds, 3),
        "errors": everything.errors,
        "error_rate": rate(everything.errors, everything.count) or 0.0,
        **_latency(everything),
        "routes": rows,
    }


def db_section(merged: Merged, live: list[dict[str, Any]]) -> dict[str, Any]:
    """Return query counts, percentiles, the slowest fingerprints, failures and the pool."""
    everything = Stat(LATENCY_EDGES_MS)
    by_shape: list[tuple[str, str, Stat]] = []
    failures = 0
    saturated = 0
    for key, stat in merged.series.items():
        if key[0] == "db":
            everything.merge(stat)
            by_shape.append((key[1], key[2] if len(key) > 2 else "other", stat))
        elif key[0] == "db_conn_fail":
            failures += stat.count
        elif key[0] == "db_pool_saturated":
            saturated += stat.count
    by_shape.sort(key=lambda item: -(item[2].quantile(0.95) or 0.0))
    slowest = [
        {
            "fingerprint": shape,
            "operation": op,
            "count": stat.count,
            "errors": stat.errors,
            "total_ms": round(stat.total, 3),
            "avg_ms": round(stat.total / stat.count, 3) if stat.count else None,
            "p95_ms": _ms(stat.quantile(0.95)),
            "max_ms": _ms(stat.max if stat.count else None),
        }
        for shape, op, stat in by_shape[:SLOWEST]
    ]
    pools = [p["pool"] for p in live if p.get("pool")]
    found = {
        "queries": everything.count,
        "errors": everything.errors,
        "total_ms": round(everything.total, 3),
        **_latency(everything),
        "fingerprints": len(by_shape),
        "slowest": slowest,
        "connection_failures": failures,
    }
    if pools:  # SQLite opens a connection per use: there is no pool to show
        found["pool"] = {
            "checked_out": sum(int(p.get("checked_out", 0)) for p in pools),
            "overflow": sum(int(p.get("overflow", 0)) for p in pools),
            "capacity": sum(int(p.get("capacity", 0)) for p in pools),
            "saturated_checkouts": saturated,
        }
    return found


def _outcome_counts(outcomes: Stat, attempts: Stat) -> dict[str, Any]:
    return {
        "count": outcomes.count,
        "failures": outcomes.errors,
        "success_rate": rate(outcomes.count - outcomes.errors, outcomes.count),
        "attempts": attempts.count,
        "failed_attempts": attempts.errors,
    }


def webhooks_section(merged: Merged, live: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the webhook success rate overall and per provider and event type.

    ``count``, ``failures`` and ``success_rate`` count notifications, each once by its latest
    attempt; ``attempts`` and ``failed_attempts`` count every processing attempt, and the
    latency is the attempts'.
    """
    attempts: dict[tuple[str, str], Stat] = {}
    outcomes: dict[tuple[str, str], Stat] = {}
    for key, stat in merged.series.items():
        if key[0] in ("webhook", "webhook_outcome"):
            into = attempts if key[0] == "webhook" else outcomes
            into[(key[1], key[2])] = stat
    everything, notified = Stat(LATENCY_EDGES_MS), Stat(LATENCY_EDGES_MS)
    rows = []
    for pair in sorted(attempts.keys() | outcomes.keys()):
        tried = attempts.get(pair, Stat(LATENCY_EDGES_MS))
        done = outcomes.get(pair, Stat(LATENCY_EDGES_MS))
        everything.merge(tried)
        notified.merge(done)
        rows.append(
            {
                "provider": pair[0],
                "event_type": pair[1],
                **_outcome_counts(done, tried),
                **_latency(tried),
            }
        )
    recent = [
        {**f, "at": iso_utc(f["at"])}
        for f in sorted(
            (f for p in live for f in p.get("recent_webhook_failures", [])),
            key=lambda f: -float(f.get("at", 0)),
        )[:20]
    ]
    return {
        **_outcome_counts(notified, everything),
        **_latency(everything),
        "by_provider": rows,
        "recent_failures": recent,
    }


def websocket_section(
    monitor: Monitor, merged: Merged, live: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """Return connections: active, peak, opened and closed in the window, reasons, lengths."""
    opened = 0
    closed = 0
    abnormal = 0
    reasons: dict[str, int] = {}
    sessions = Stat(LATENCY_EDGES_MS)
    reported_errors = 0
    for key, stat in merged.series.items():
        if key == ("ws", "opened"):
            opened += stat.count
        elif key[0] == "ws_close":
            closed += stat.count
            reasons[key[1]] = reasons.get(key[1], 0) + stat.count
            if key[1] not in NORMAL_REASONS:
                abnormal += stat.count
        elif key[0] == "ws_errors":
            reported_errors += stat.count
        elif key[0] == "ws_session":
            sessions = Stat(stat.edges) if sessions.count == 0 else sessions
            sessions.merge(stat)
    by_instance = monitor.connections_by_instance(live)
    own = [p.get("websocket", {}) for p in live]
    return {
        "active": sum(by_instance.values()),
        "active_own": sum(int(w.get("active", 0)) for w in own),
        "peak_own": sum(int(w.get("peak", 0)) for w in own),
        "by_instance": by_instance,
        "opened": opened,
        "closed": closed,
        "opened_per_minute": round(opened * 60 / seconds, 3),
        "closed_per_minute": round(closed * 60 / seconds, 3),
        "abnormal_closes": abnormal + reported_errors,
        "disconnect_reasons": dict(sorted(reasons.items())),
        "session_seconds": {
            "count": sessions.count,
            "avg": round(sessions.total / sessions.count, 3) if sessions.count else None,
            "p50": _ms(sessions.quantile(0.5)),
            "p95": _ms(sessions.quantile(0.95)),
            "max": _ms(sessions.max if sessions.count else None),
        },
    }


def system_section(live: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the processes' memory, CPU, loop lag, GC and open files (summed, or worst)."""
    systems = [p.get("system", {}) for p in live]
    first = systems[0] if systems else {}
    return {
        "memory_percent": round(sum(float(s.get("memory_percent", 0)) for s in systems), 3),
        "rss_bytes": sum(int(s.get("rss_bytes", 0)) for s in systems),
        "memory_limit_bytes": first.get("memory_limit_bytes"),
        "memory_limit_source": first.get("memory_limit_source"),
        "cpu_percent": round(sum(float(s.get("cpu_percent", 0)) for s in systems), 3),
        "event_loop_lag_ms": round(
            max((float(s.get("loop_lag_ms", 0)) for s in systems), default=0), 3
        ),
        "event_loop_lag_max_ms": round(
            max((float(s.get("loop_lag_max_ms", 0)) for s in systems), default=0), 3
        ),
        "gc_collections": [
            sum(int(s.get("gc_collections", [0, 0, 0])[i]) for s in systems) for i in range(3)
        ],
        "open_files": sum(int(s.get("open_files", 0)) for s in systems),
        "threads": sum(int(s.get("threads", 0)) for s in systems),
        "processes": len(systems),
    }


def argentina_section(merged: Merged) -> dict[str, Any]:
    """Return accepted events by province and payments by method and status in the window."""
    provinces: dict[str, int] = {}
    payments: dict[str, dict[str, int]] = defaultdict(dict)
    for key, stat in merged.series.items():
        if key[0] == "province":
            provinces[key[1]] = provinces.get(key[1], 0) + stat.count
        elif key[0] == "payment":
            payments[key[1]][key[2]] = stat.count
    return {
        "events_by_province": [
            {"province": code, "name": province_label(code), "events": n}
            for code, n in sorted(provinces.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "payments_by_method": {m: dict(sorted(s.items())) for m, s in sorted(payments.items())},
    }


async def build(monitor: Monitor, *, window_name: str, window_s: float) -> dict[str, Any]:
    """Return the dashboard for the trailing window."""
    merged = await monitor.merged(window_s)
    live = merged.live
    seconds = covered_seconds(now=merged.now, window_s=window_s, since=merged.since)
    answer: dict[str, Any] = {
        "window": window_name,
        "window_s": window_s,
        "covered_s": round(seconds, 3),
        "generated_at": iso_utc(merged.now),
        "instance": monitor.config.instance,
        "monitoring_enabled": monitor.config.enabled,
        "processes": [
            {**p, "started": iso_utc(p["started"]), "at": iso_utc(p["at"])}
            for p in merged.processes
        ],
        "http": http_section(merged, seconds),
        "db": db_section(merged, live),
        "webhooks": webhooks_section(merged, live),
        "websocket": websocket_section(monitor, merged, live, seconds),
        "system": system_section(live),
        "argentina": argentina_section(merged),
    }
    names = list(monitor.sections)
    results = await asyncio.gather(
        *(asyncio.wait_for(monitor.sections[n](), SECTION_TIMEOUT_S) for n in names),
        return_exceptions=True,
    )
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("dashboard section failed", section=name, error=repr(result))
            answer[name] = {"error": f"{type(result).__name__}: {result}"[:300]}
        else:
            answer[name] = result
    return answer
