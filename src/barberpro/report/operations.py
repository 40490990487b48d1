"""The launch report's operations: the day's monitoring series from `ops_hours`, summarised.

The same sections as the live dashboard (routes, database, webhooks) over the whole ART day,
each route's p95 judged against the alert thresholds, an hour-by-hour traffic table, and the
gauges the processes sampled (memory, CPU, loop lag, WebSocket connections, pool use).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from barberpro.api.numbers import rate
from barberpro.argentina.timezone import iso_utc
from barberpro.monitoring import dashboard
from barberpro.monitoring.histogram import LATENCY_EDGES_MS, Stat
from barberpro.monitoring.ledger import HOUR_S, Day
from barberpro.monitoring.service import Merged
from barberpro.monitoring.websockets import NORMAL_REASONS


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the report judges against: the alert rules' thresholds and the webhook target."""

    p95_warning_ms: float = 150.0
    p95_critical_ms: float = 200.0
    db_p95_warning_ms: float = 50.0
    webhook_success_target: float = 0.99
    memory_percent: float = 80.0

    def as_dict(self) -> dict[str, float]:
        """Return the thresholds as JSON."""
        return {
            "p95_warning_ms": self.p95_warning_ms,
            "p95_critical_ms": self.p95_critical_ms,
            "db_p95_warning_ms": self.db_p95_warning_ms,
            "webhook_success_target": self.webhook_success_target,
            "memory_percent": self.memory_percent,
        }


def judge(p95_ms: float | None, limits: Thresholds) -> str:
    """Return ``ok``, ``warning`` or ``critical`` for a p95 (``no_data`` without one)."""
    if p95_ms is None:
        return "no_data"
    if p95_ms > limits.p95_critical_ms:
        return "critical"
    if p95_ms > limits.p95_warning_ms:
        return "warning"
    return "ok"


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _hourly(day: Day, start_s: int) -> list[dict[str, Any]]:
    """Each ART hour's requests; its rate over the part of the hour the service was seen up."""
    rows = []
    for index in range(24):
        hour = start_s // HOUR_S + index
        stat = day.http_by_hour.get(hour, Stat(LATENCY_EDGES_MS))
        lo = max(hour * HOUR_S, day.first_at or hour * HOUR_S)
        hi = min((hour + 1) * HOUR_S, day.last_at or (hour + 1) * HOUR_S)
        rows.append(
            {
                "hour": index,
                "starts_at": iso_utc(hour * HOUR_S),
                "requests": stat.count,
                "rps": round(stat.count / max(1.0, hi - lo), 3) if stat.count else 0.0,
                "errors": stat.errors,
                "p95_ms": _ms(stat.quantile(0.95)),
            }
        )
    return rows


def _websocket(series: dict[tuple[str, ...], Stat], samples: Sequence[dict[str, Any]]) -> Any:
    opened = sum(s.count for k, s in series.items() if k == ("ws", "opened"))
    closes = {k[1]: s.count for k, s in series.items() if k[0] == "ws_close"}
    return {
        "opened": opened,
        "closed": sum(closes.values()),
        "abnormal_closes": sum(n for r, n in closes.items() if r not in NORMAL_REASONS),
        "peak_active": int(max(_per_minute(samples, "ws_active", sum), default=0)),
    }


def _per_minute(samples: Sequence[dict[str, Any]], field: str, combine: Any) -> list[float]:
    """Return ``field`` combined across processes minute by minute (sum or max).

    A process sampled several times in a minute (a flush interval under 60 s, its last flush
    when stopping) counts once in it, by its highest reading.
    """
    minutes: dict[int, dict[str, float]] = defaultdict(dict)
    for sample in samples:
        readings = minutes[int(sample["at"] // 60)]
        process, value = sample["process"], sample[field]
        readings[process] = max(value, readings.get(process, value))
    return [combine(r.values()) for _minute, r in sorted(minutes.items())]


def _system(samples: Sequence[dict[str, Any]], limits: Thresholds) -> dict[str, Any]:
    if not samples:
        return {"samples": 0}
    memory = _per_minute(samples, "memory_percent", sum)
    cpu = _per_minute(samples, "cpu_percent", sum)
    checked_out = _per_minute(samples, "pool_checked_out", sum)
    capacity = _per_minute(samples, "pool_capacity", sum)
    pool_use = [c / cap for c, cap in zip(checked_out, capacity, strict=True) if cap]
    return {
        "samples": len(samples),
        "memory_percent_max": round(max(memory), 3),
        "memory_percent_avg": round(sum(memory) / len(memory), 3),
        "memory_over_threshold_minutes": sum(1 for m in memory if m > limits.memory_percent),
        "rss_bytes_max": int(max(s["rss_bytes"] for s in samples)),
        "cpu_percent_max": round(max(cpu), 3),
        "cpu_percent_avg": round(sum(cpu) / len(cpu), 3),
        "event_loop_lag_max_ms": round(max(s["loop_lag_max_ms"] for s in samples), 3),
        "pool_use_max": round(max(pool_use), 4) if pool_use else None,
    }


def operations(day: Day, *, start_s: int, end_s: int, limits: Thresholds) -> dict[str, Any]:
    """Return the operations section of the day [start_s, end_s)."""
    seen_s = max(1.0, min(float(end_s), day.last_at or end_s) - max(start_s, day.first_at or 0))
    merged = Merged(
        series=day.series, window_s=end_s - start_s, now=end_s, since=start_s, processes=[], live=[]
    )
    http = dashboard.http_section(merged, seen_s)
    for route in http["routes"]:
        route["p95_status"] = judge(route["p95_ms"], limits)
    webhooks = dashboard.webhooks_section(merged, [])
    webhooks.pop("recent_failures", None)
    success = webhooks["success_rate"]
    webhooks["target"] = limits.webhook_success_target
    webhooks["meets_target"] = None if success is None else success >= limits.webhook_success_target
    db = dashboard.db_section(merged, [])
    db["slow_fingerprints"] = sum(
        1 for f in db["slowest"] if (f["p95_ms"] or 0) > limits.db_p95_warning_ms
    )
    payments: dict[str, dict[str, int]] = defaultdict(dict)
    for key, stat in day.series.items():
        if key[0] == "payment":
            payments[key[1]][key[2]] = payments[key[1]].get(key[2], 0) + stat.count
    return {
        "served_s": round(seen_s, 3),
        "processes": day.processes,
        "http": {**http, "p95_status": judge(http["p95_ms"], limits)},
        "hourly": _hourly(day, start_s),
        "db": db,
        "webhooks": webhooks,
        "websocket": _websocket(day.series, day.samples),
        "system": _system(day.samples, limits),
        "payment_events": {
            method: {
                **dict(sorted(statuses.items())),
                "rejected_rate": rate(statuses.get("rejected", 0), sum(statuses.values())),
            }
            for method, statuses in sorted(payments.items())
        },
    }
