"""The alert rules as a Prometheus rules file over the metric names /metrics exposes.

Built from the same rules the engine evaluates, translated to PromQL, so an operator running
Prometheus sees the same alerts as the engine (``barberpro export prometheus-rules``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from barberpro.alerts.rules import Rule, alert_labels

__all__ = ["Unsupported", "duration", "prometheus_rules", "promql", "to_yaml"]

HTTP_BUCKETS = "barberpro_http_request_duration_seconds_bucket"
HTTP_COUNT = "barberpro_http_request_duration_seconds_count"
HTTP_TOTAL = "barberpro_http_requests_total"
DB_BUCKETS = "barberpro_db_query_duration_seconds_bucket"
DB_COUNT = "barberpro_db_query_duration_seconds_count"
WEBHOOKS = "barberpro_payment_webhooks_total"

# Which selector labels each signal's metric has. Gauges that every instance reports for the
# whole cluster carry our own "instance" label, which Prometheus renames to exported_instance
# (honor_labels: false, the default) because it collides with the target's label.
_SELECTABLE: Mapping[str, Mapping[str, str]] = {
    "http_p95_ms": {"route": "route", "method": "method", "status_class": "status_class"},
    "http_error_rate": {"route": "route", "method": "method"},
    "db_query_p95_ms": {"operation": "operation"},
    "db_connection_failures": {},
    "webhook_failure_rate": {"provider": "provider", "event_type": "event_type"},
    "webhook_rejections": {"provider": "provider", "reason": "reason"},
    "webhook_dead_letters": {"provider": "provider", "reason": "reason"},
    "memory_percent": {},
    "concurrent_connections": {"instance": "exported_instance"},
}


#: Signals that are a count of one counter's events over the window.
_COUNTERS: Mapping[str, str] = {
    "webhook_rejections": "barberpro_payment_webhooks_rejected_total",
    "webhook_dead_letters": "barberpro_payments_dead_lettered_total",
}


class Unsupported(ValueError):
    """A rule cannot be written in PromQL over our metrics (e.g. a selector label they lack)."""


@dataclass(frozen=True, slots=True)
class _Sel:
    """Label matchers for a metric, rendered inside braces."""

    pairs: tuple[tuple[str, str], ...] = ()

    def plus(self, **extra: str) -> _Sel:
        return _Sel((*self.pairs, *extra.items()))

    def __str__(self) -> str:
        if not self.pairs:
            return ""
        inner = ",".join(f"{k}={json.dumps(v)}" for k, v in self.pairs)
        return "{" + inner + "}"


def duration(seconds: float) -> str:
    """Return ``seconds`` as a Prometheus duration (``5m``, ``90s``, ``1h``, ``500ms``)."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s and s % 3600 == 0:
        return f"{s // 3600}h"
    if s and s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def _selector(rule: Rule) -> _Sel:
    allowed = _SELECTABLE[rule.signal]
    unknown = sorted(set(rule.selector) - set(allowed))
    if unknown:
        raise Unsupported(
            f"rule {rule.name!r}: the metrics of {rule.signal} have no label {', '.join(unknown)}"
        )
    return _Sel(tuple((allowed[k], v) for k, v in sorted(rule.selector.items())))


def _n(value: float) -> str:
    return f"{value:g}"


def promql(rule: Rule) -> str:
    """Return the PromQL expression that is true (non-empty) when ``rule`` holds."""
    sel, w, op = _selector(rule), duration(rule.window_s), rule.op
    at_least = ""
    if rule.signal in ("http_p95_ms", "db_query_p95_ms"):
        buckets, count = (
            (HTTP_BUCKETS, HTTP_COUNT) if rule.signal == "http_p95_ms" else (DB_BUCKETS, DB_COUNT)
        )
        expr = (
            f"histogram_quantile(0.95, sum by (le) (rate({buckets}{sel}[{w}]))) "
            f"{op} {_n(rule.threshold / 1000)}"
        )
        at_least = f"sum(increase({count}{sel}[{w}]))"
    elif rule.signal == "http_error_rate":
        expr = (
            f"sum(rate({HTTP_TOTAL}{sel.plus(status_class='5xx')}[{w}])) "
            f"/ sum(rate({HTTP_TOTAL}{sel}[{w}])) {op} {_n(rule.threshold)}"
        )
        at_least = f"sum(increase({HTTP_TOTAL}{sel}[{w}]))"
    elif rule.signal == "webhook_failure_rate":
        expr = (
            f"sum(rate({WEBHOOKS}{sel.plus(outcome='failure')}[{w}])) "
            f"/ sum(rate({WEBHOOKS}{sel}[{w}])) {op} {_n(rule.threshold)}"
        )
        at_least = f"sum(increase({WEBHOOKS}{sel}[{w}]))"
    elif rule.signal in _COUNTERS:
        expr = f"sum(increase({_COUNTERS[rule.signal]}{sel}[{w}])) {op} {_n(rule.threshold)}"
    elif rule.signal == "db_connection_failures":
        expr = (
            f"sum(increase(barberpro_db_connection_failures_total[{w}])) {op} {_n(rule.threshold)}"
        )
    elif rule.signal == "memory_percent":
        expr = f"max(barberpro_process_memory_percent) {op} {_n(rule.threshold)}"
    else:  # concurrent_connections: each target reports the whole cluster; take one target's
        expr = (
            f"max(sum by (instance) (barberpro_websocket_connections_active{sel})) "
            f"{op} {_n(rule.threshold)}"
        )
    if at_least and rule.min_samples > 0:
        # Comparison binds tighter than `and`: (quantile > t) and on() (count >= n).
        expr = f"{expr} and on() {at_least} >= {rule.min_samples}"
    return expr


def _shown(rule: Rule) -> tuple[str, str]:
    """Return the threshold and a template of the current value, in the signal's unit."""
    if rule.signal.endswith("_ms"):  # the expression's value is in seconds
        return f"{_n(rule.threshold)} ms", "{{ $value | humanizeDuration }}"
    if rule.signal.endswith("_rate"):
        return f"{_n(rule.threshold * 100)}%", "{{ $value | humanizePercentage }}"
    if rule.signal == "memory_percent":
        return f"{_n(rule.threshold)}%", '{{ $value | printf "%.1f" }}%'
    return _n(rule.threshold), "{{ $value | humanize }}"


def prometheus_rules(
    rules: Iterable[Rule], *, group: str = "barberpro"
) -> tuple[dict[str, Any], list[str]]:
    """Return (the rules file as data, the reasons rules were left out)."""
    out: list[dict[str, Any]] = []
    skipped: list[str] = []
    for rule in rules:
        try:
            expr = promql(rule)
        except Unsupported as exc:
            skipped.append(str(exc))
            continue
        labels = {k: v for k, v in alert_labels(rule).items() if k != "alertname"}
        entry: dict[str, Any] = {"alert": rule.name, "expr": expr}
        if rule.for_s > 0:
            entry["for"] = duration(rule.for_s)
        entry["labels"] = labels
        threshold, now = _shown(rule)
        entry["annotations"] = {
            "summary": rule.summary,
            "description": f"{rule.signal} {rule.op} {threshold}; now {now}",
        }
        out.append(entry)
    return {"groups": [{"name": group, "rules": out}]}, skipped


def to_yaml(data: Any, indent: int = 0) -> str:
    """Return ``data`` (dicts, lists, text, numbers) as block YAML; text is double-quoted.

    JSON's string escapes are valid in YAML double-quoted scalars, so every string is written
    with json.dumps and no value can be misread as another type or break the structure.
    """
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, Mapping | list) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_scalar(value)}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body.lstrip()}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(data)}")
    return "\n".join(lines)


def _scalar(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _n(value)
    return json.dumps(str(value))
