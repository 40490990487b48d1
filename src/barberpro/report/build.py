"""The launch report of one ART day, as data: operations, business, market, health, alerts and
the Day-7 recommendations. :mod:`barberpro.report.render` turns it into HTML and PDF."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.alerts import store
from barberpro.alerts.rules import Rule
from barberpro.analytics import reports
from barberpro.analytics.range import Range
from barberpro.argentina.timezone import art_day_bounds, iso_utc, to_micros
from barberpro.config import Settings
from barberpro.monitoring.ledger import read_day
from barberpro.optimization import audit
from barberpro.report import advice
from barberpro.report.operations import Thresholds, operations

#: The alert transitions a report lists at most (the newest are kept).
MAX_ALERT_EVENTS = 1000
#: The optimization engine's actions a report lists at most.
MAX_ACTIONS = 500
#: Barbers on the report's leaderboard.
LEADERBOARD = 20


@dataclass(frozen=True, slots=True)
class Sources:
    """Where a report's figures come from."""

    engine: AsyncEngine
    settings: reports.ReportSettings
    limits: Thresholds


def thresholds_of(rules: Sequence[Rule]) -> Thresholds:
    """Return the report's thresholds: the configured alert rules', else the launch plan's."""
    default = Thresholds()
    by_name = {rule.name: rule.threshold for rule in rules}
    return Thresholds(
        p95_warning_ms=by_name.get("api_p95_warning", default.p95_warning_ms),
        p95_critical_ms=by_name.get("api_p95_critical", default.p95_critical_ms),
        db_p95_warning_ms=by_name.get("db_query_p95_warning", default.db_p95_warning_ms),
        memory_percent=by_name.get("memory_critical", default.memory_percent),
    )


def sources_from(settings: Settings, engine: AsyncEngine, rules: Sequence[Rule]) -> Sources:
    """Return the sources of the service configured by ``settings``."""
    return Sources(
        engine=engine,
        settings=reports.ReportSettings(
            funnel_window_hours=settings.funnel_window_hours,
            session_timeout_us=int(settings.session_timeout_minutes * 60_000_000),
            market_min_demand=settings.market_min_demand,
        ),
        limits=thresholds_of(rules),
    )


def _alerts(entries: list[store.HistoryEntry]) -> dict[str, Any]:
    timeline = [
        {
            "at": iso_utc(e.at),
            "alertname": e.alertname,
            "severity": e.severity,
            "from": e.before,
            "to": e.after,
            "value": e.value,
            "labels": dict(e.labels),
            "silenced": e.silenced,
            "notified": e.notified,
        }
        for e in sorted(entries, key=lambda e: e.at)
    ]
    fired: dict[str, int] = {}
    for entry in entries:
        if entry.after == "firing":
            fired[entry.severity] = fired.get(entry.severity, 0) + 1
    return {"fired_by_severity": dict(sorted(fired.items())), "timeline": timeline}


def _health(ops: dict[str, Any], alerts: dict[str, Any]) -> dict[str, Any]:
    fired = alerts["fired_by_severity"]
    status = "critical" if fired.get("critical") else "degraded" if fired else "ok"
    system = ops["system"]
    return {
        "status": status,
        "alerts_fired": sum(fired.values()),
        "db_connection_failures": ops["db"]["connection_failures"],
        "http_error_rate": ops["http"]["error_rate"],
        "webhook_success_rate": ops["webhooks"]["success_rate"],
        "memory_percent_max": system.get("memory_percent_max"),
        "event_loop_lag_max_ms": system.get("event_loop_lag_max_ms"),
        "processes": ops["processes"],
    }


def _market(bi: dict[str, Any]) -> dict[str, Any]:
    market, revenue = bi["market"], bi["revenue"]
    return {
        "min_demand": market["min_demand"],
        "provinces": market["provinces"],
        "cities": market["cities"][:20],
        "sessions_without_province": market["sessions_without_province"],
        "payment_methods": revenue["by_method"],
        "installments": revenue["installments"],
    }


async def launch_report(sources: Sources, day: date, *, now: float | None = None) -> dict[str, Any]:
    """Return the launch report of ART day ``day``."""
    started = time.perf_counter()
    now = time.time() if now is None else now
    start, end = art_day_bounds(day)
    start_s, end_s = int(start.timestamp()), int(end.timestamp())
    span = Range(to_micros(start), to_micros(end))
    day_ops = await read_day(sources.engine, start_s, end_s)
    ops = operations(day_ops, start_s=start_s, end_s=end_s, limits=sources.limits)
    bi = await reports.business_intelligence(
        sources.engine,
        span,
        now_us=int(now * 1_000_000),
        settings=sources.settings,
        provider_limit=LEADERBOARD,
    )
    alerts = _alerts(
        await store.history(sources.engine, limit=MAX_ALERT_EVENTS, since=start_s, until=end_s)
    )
    decided = await audit.listed(sources.engine, limit=MAX_ACTIONS, since=start_s, until=end_s)
    optimization = {
        "actions": list(reversed(decided)),
        **await audit.counts(sources.engine, since=start_s, until=end_s),
    }
    business = {k: v for k, v in bi.items() if k not in ("market", "recommendations", "range")}
    empty = (
        not ops["http"]["requests"]
        and not bi["funnel"]["units"]
        and not bi["revenue"]["payments_approved"]
        and not alerts["timeline"]
        and not decided
    )
    return {
        "date": day.isoformat(),
        "range": span.describe(),
        "generated_at": iso_utc(now),
        "empty": empty,
        "summary": (
            f"Nothing was recorded on {day.isoformat()}: no requests, no funnel, no payments, "
            "no alerts, no optimization actions."
            if empty
            else None
        ),
        "thresholds": sources.limits.as_dict(),
        "operations": ops,
        "business": business,
        "market": _market(bi),
        "health": _health(ops, alerts),
        "alerts": alerts,
        "optimization": optimization,
        "recommendations": [] if empty else advice.day7(ops, bi, sources.limits),
        "build_ms": round((time.perf_counter() - started) * 1000, 3),
    }
