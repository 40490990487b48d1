"""A Grafana dashboard over the metrics that ``/metrics`` exposes.

``barberpro export grafana-dashboard`` writes it.

Thresholds drawn on the panels come from the alert rules, so the lines match the alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from barberpro.alerts.export import DB_BUCKETS, HTTP_BUCKETS, HTTP_TOTAL, WEBHOOKS
from barberpro.alerts.rules import Rule

__all__ = ["grafana_dashboard"]


_DS = {"type": "prometheus", "uid": "${datasource}"}


def _thresholds(rules: Sequence[Rule], signal: str, scale: float = 1.0) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    colour = {"warning": "orange", "critical": "red"}
    for rule in sorted(
        (r for r in rules if r.signal == signal and not r.selector and r.op == ">"),
        key=lambda r: r.threshold,
    ):
        steps.append({"color": colour[rule.severity], "value": rule.threshold * scale})
    return {"mode": "absolute", "steps": steps}


def _panel(
    title: str,
    targets: Sequence[tuple[str, str]],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    thresholds: dict[str, Any] | None = None,
    description: str = "",
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": _DS,
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": _DS, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {},
    }


def _p95(buckets: str, by: str = "") -> str:
    groups = f"le, {by}" if by else "le"
    return f"histogram_quantile(0.95, sum by ({groups}) (rate({buckets}[5m]))) * 1000"


def grafana_dashboard(rules: Sequence[Rule]) -> dict[str, Any]:
    """Return a Grafana dashboard (schema 39) over the metrics ``/metrics`` exposes."""
    rows: list[tuple[str, list[dict[str, Any]]]] = [
        (
            "API",
            [
                _panel(
                    "API p95 latency (all routes)",
                    [(_p95(HTTP_BUCKETS), "p95")],
                    unit="ms",
                    thresholds=_thresholds(rules, "http_p95_ms"),
                ),
                _panel(
                    "p95 latency by route", [(_p95(HTTP_BUCKETS, "route"), "{{route}}")], unit="ms"
                ),
                _panel(
                    "Requests per second by route",
                    [(f"sum by (route) (rate({HTTP_TOTAL}[5m]))", "{{route}}")],
                    unit="reqps",
                ),
                _panel(
                    "Error rate (5xx)",
                    [
                        (
                            f'sum(rate({HTTP_TOTAL}{{status_class="5xx"}}[5m])) '
                            f"/ sum(rate({HTTP_TOTAL}[5m]))",
                            "5xx share",
                        )
                    ],
                    unit="percentunit",
                    thresholds=_thresholds(rules, "http_error_rate"),
                ),
                _panel(
                    "Requests in flight",
                    [("max(sum by (instance) (barberpro_http_requests_in_flight))", "in flight")],
                ),
            ],
        ),
        (
            "Database",
            [
                _panel(
                    "DB query p95 by operation",
                    [(_p95(DB_BUCKETS, "operation"), "{{operation}}")],
                    unit="ms",
                    thresholds=_thresholds(rules, "db_query_p95_ms"),
                ),
                _panel(
                    "Queries per second by operation",
                    [
                        (
                            "sum by (operation) (rate(barberpro_db_queries_total[5m]))",
                            "{{operation}}",
                        )
                    ],
                    unit="ops",
                ),
                _panel(
                    "Connection failures (5 min)",
                    [("sum(increase(barberpro_db_connection_failures_total[5m]))", "failures")],
                    thresholds=_thresholds(rules, "db_connection_failures"),
                ),
                _panel(
                    "Connection pool",
                    [
                        ("sum(barberpro_db_pool_checked_out)", "checked out"),
                        ("sum(barberpro_db_pool_overflow)", "overflow"),
                    ],
                ),
            ],
        ),
        (
            "Payments and WebSockets",
            [
                _panel(
                    "Payment webhook failure rate",
                    [
                        (
                            f'sum by (provider) (rate({WEBHOOKS}{{outcome="failure"}}[5m])) '
                            f"/ sum by (provider) (rate({WEBHOOKS}[5m]))",
                            "{{provider}}",
                        )
                    ],
                    unit="percentunit",
                    thresholds=_thresholds(rules, "webhook_failure_rate"),
                ),
                _panel(
                    "Webhook processing p95",
                    [
                        (
                            _p95("barberpro_payment_webhook_duration_seconds_bucket", "provider"),
                            "{{provider}}",
                        )
                    ],
                    unit="ms",
                ),
                _panel(
                    "Payments by method",
                    [
                        (
                            "sum by (payment_method) "
                            "(increase(barberpro_payments_by_method_total[1h]))",
                            "{{payment_method}}",
                        )
                    ],
                ),
                _panel(
                    "MercadoPago retry queue and circuit",
                    [
                        ("max(barberpro_payments_queue_depth)", "queued"),
                        ("max(barberpro_payments_dead_letters)", "dead letters"),
                        (
                            'max(barberpro_mercadopago_circuit_state{state="open"})',
                            "circuit open",
                        ),
                    ],
                    description="Payments read from the shared database: every instance "
                    "reports the same numbers, hence max.",
                ),
                _panel(
                    "Concurrent WebSocket connections",
                    [
                        (
                            "max(sum by (instance) (barberpro_websocket_connections_active))",
                            "active",
                        )
                    ],
                    thresholds=_thresholds(rules, "concurrent_connections"),
                ),
                _panel(
                    "WebSocket opened and closed per minute",
                    [
                        (
                            "sum(rate(barberpro_websocket_connections_opened_total[5m])) * 60",
                            "opened",
                        ),
                        (
                            "sum by (reason) "
                            "(rate(barberpro_websocket_connections_closed_total[5m])) * 60",
                            "closed: {{reason}}",
                        ),
                    ],
                ),
            ],
        ),
        (
            "System and alerts",
            [
                _panel(
                    "Memory",
                    [("max(barberpro_process_memory_percent)", "memory %")],
                    unit="percent",
                    thresholds=_thresholds(rules, "memory_percent"),
                ),
                _panel(
                    "Resident memory",
                    [
                        (
                            "sum by (instance) (barberpro_process_resident_memory_bytes)",
                            "{{instance}}",
                        )
                    ],
                    unit="bytes",
                ),
                _panel(
                    "CPU and event-loop lag",
                    [
                        ("sum by (instance) (barberpro_process_cpu_percent)", "cpu % {{instance}}"),
                        ("max(barberpro_event_loop_lag_seconds) * 1000", "loop lag ms"),
                    ],
                ),
                _panel(
                    "Requests by province (last hour)",
                    [
                        (
                            "sum by (province) "
                            "(increase(barberpro_requests_by_province_total[1h]))",
                            "{{province}}",
                        )
                    ],
                    kind="bargauge",
                ),
                _panel(
                    "Firing alerts",
                    [
                        (
                            "max by (alertname, severity) "
                            '(barberpro_alerts_active{state="firing"})',
                            "{{severity}} {{alertname}}",
                        )
                    ],
                    description="1 while the alert fires (the evaluating instance reports it).",
                ),
            ],
        ),
    ]
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for title, row in rows:
        panels.append(
            {
                "type": "row",
                "title": title,
                "id": next_id,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        for i, panel in enumerate(row):
            panel["id"] = next_id
            next_id += 1
            panel["gridPos"] = {"h": 8, "w": 12, "x": 12 * (i % 2), "y": y + 8 * (i // 2)}
        panels.extend(row)
        y += 8 * ((len(row) + 1) // 2)
    return {
        "title": "BarberPro launch day",
        "uid": "barberpro-launch",
        "description": "API, database, payments, WebSockets, system and alerts of BarberPro.",
        "tags": ["barberpro"],
        "timezone": "America/Argentina/Buenos_Aires",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "panels": panels,
    }
