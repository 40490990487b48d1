"""The answers of the monitoring routes: the dashboard, health and the two report acks.

Declared on the routes for the OpenAPI document (see :mod:`barberpro.api.answers`). Instants
are ISO 8601 in UTC; durations are milliseconds unless a field says otherwise; percentiles are
null when nothing was observed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from barberpro.alerts.answers import DashboardAlerts
from barberpro.api.answers import Answer
from barberpro.optimization.answers import OptimizationStatus
from barberpro.payments.answers import PaymentsStatus

Verdict = Literal["ok", "degraded", "critical"]


class Latency(Answer):
    """Percentiles of a duration, in milliseconds."""

    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class RouteStats(Latency):
    """Requests to one route template and method."""

    route: str = Field(description="The route template; <unmatched> when no route matched.")
    method: str
    count: int
    rps: float
    error_rate: float = Field(description="5xx answers / requests.")
    errors: int = Field(description="5xx answers.")
    status: dict[str, int] = Field(description="Answers by status class: 2xx, 4xx...")
    db_ms_per_request: float | None = Field(
        default=None, description="Absent when the route ran no query in the window."
    )
    db_queries_per_request: float | None = Field(
        default=None, description="Absent when the route ran no query in the window."
    )


class Http(Latency):
    """Every request of the window, and per route."""

    requests: int
    rps: float
    errors: int
    error_rate: float
    routes: list[RouteStats] = Field(description="Busiest first.")


class SlowQuery(Answer):
    """One statement fingerprint (literals and parameters normalised)."""

    fingerprint: str
    operation: str
    count: int
    errors: int
    total_ms: float
    avg_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class Pool(Answer):
    """The connection pools of every process."""

    checked_out: int
    overflow: int
    capacity: int
    saturated_checkouts: int = Field(description="Checkouts that found the pool full.")


class Database(Latency):
    """Statements of the window."""

    queries: int
    errors: int
    total_ms: float
    fingerprints: int = Field(description="Distinct statement shapes.")
    slowest: list[SlowQuery] = Field(description="The 10 with the highest p95.")
    connection_failures: int
    pool: Pool | None = Field(
        default=None, description="The server's connection pool; absent on SQLite (no server)."
    )


class WebhookStats(Latency):
    """Webhooks of one provider and event type."""

    provider: str
    event_type: str
    count: int = Field(description="Notifications, each once by its latest attempt.")
    failures: int = Field(description="Notifications whose latest attempt failed.")
    success_rate: float | None
    attempts: int = Field(description="Processing attempts, retries included.")
    failed_attempts: int


class WebhookFailure(Answer):
    """One failed webhook."""

    at: datetime = Field(description="When it failed (UTC).")
    provider: str
    event_type: str
    processing_ms: float
    http_status: int | None
    error: str | None
    notification_id: str | None


class Webhooks(Latency):
    """Payment webhooks processed in the window (ours and reported)."""

    count: int = Field(description="Notifications, each once by its latest attempt.")
    failures: int = Field(description="Notifications whose latest attempt failed.")
    success_rate: float | None
    attempts: int = Field(description="Processing attempts, retries included.")
    failed_attempts: int
    by_provider: list[WebhookStats]
    recent_failures: list[WebhookFailure] = Field(description="The 20 newest, newest first.")


class SessionSeconds(Answer):
    """Lengths of the WebSocket sessions closed in the window, in seconds."""

    count: int
    avg: float | None
    p50: float | None
    p95: float | None
    max: float | None


class WebSocket(Answer):
    """WebSocket connections: ours and those external servers report."""

    active: int = Field(description="Open now, every instance.")
    active_own: int = Field(description="Open now on this instance's processes.")
    peak_own: int
    by_instance: dict[str, int]
    opened: int
    closed: int
    opened_per_minute: float
    closed_per_minute: float
    abnormal_closes: int = Field(description="Abnormal closes and reported errors.")
    disconnect_reasons: dict[str, int]
    session_seconds: SessionSeconds


class System(Answer):
    """The processes' resources: summed, or the worst for the event loop's lag."""

    memory_percent: float = Field(description="Of the cgroup's limit, or of the machine.")
    rss_bytes: int
    memory_limit_bytes: int | None
    memory_limit_source: str | None = Field(description="cgroup or machine.")
    cpu_percent: float
    event_loop_lag_ms: float
    event_loop_lag_max_ms: float
    gc_collections: list[int] = Field(description="Per generation 0, 1, 2.")
    open_files: int
    threads: int
    processes: int


class Argentina(Answer):
    """Events accepted in the window by province; payments by method and status."""

    events_by_province: list[ProvinceEvents] = Field(description="Most events first.")
    payments_by_method: dict[str, dict[str, int]]


class ProvinceEvents(Answer):
    """Events accepted from one province in the window."""

    province: str = Field(description="ISO 3166-2:AR code, or unknown.")
    name: str | None = Field(description="The province's name; null for unknown.")
    events: int


class ProcessView(Answer):
    """One process behind the dashboard."""

    id: str = Field(description="instance:pid.")
    started: datetime
    at: datetime = Field(description="When its figures were published.")
    this_one: bool = Field(alias="self", description="The process that answered.")
    http_requests: int


class SectionFailed(Answer):
    """A section that could not be read in time."""

    error: str


class MonitoringDashboard(Answer):
    """GET /monitoring/dashboard: one window of every worker and instance, merged."""

    window: Literal["1m", "5m", "15m"]
    window_s: int
    covered_s: float = Field(description="The part of the window some process was up.")
    generated_at: datetime
    instance: str
    monitoring_enabled: bool
    processes: list[ProcessView]
    http: Http
    db: Database
    webhooks: Webhooks
    websocket: WebSocket
    system: System
    argentina: Argentina
    alerts: DashboardAlerts | SectionFailed | None = Field(
        default=None, description="Absent when the alerts are not running."
    )
    payments: PaymentsStatus | SectionFailed | None = Field(
        default=None, description="Absent when the payments are not running."
    )
    optimization: OptimizationStatus | SectionFailed | None = Field(
        default=None, description="The optimization engine's state; absent when not wired."
    )


class ProbeCheck(Answer):
    """A check that asks a server: its latency, or why it failed."""

    status: Verdict
    latency_ms: float | None = Field(default=None, description="Absent when it failed.")
    error: str | None = Field(default=None, description="Absent when it answered.")


class MemoryCheck(Answer):
    """Memory used, in % of the cgroup's limit or the machine's."""

    status: Verdict
    percent: float
    degraded_at: float
    critical_at: float


class DiskCheck(Answer):
    """The disk of the SQLite file, or of the working directory."""

    status: Verdict
    path: str
    used_percent: float
    free_bytes: int


class BacklogCheck(Answer):
    """Events waiting for the group-commit writer."""

    status: Verdict
    backlog: int
    limit: int


class HealthChecks(Answer):
    """Each check with its value and verdict."""

    database: ProbeCheck = Field(description="SELECT 1.")
    redis: ProbeCheck | None = Field(default=None, description="Absent without Redis.")
    memory: MemoryCheck
    disk: DiskCheck
    queue_backlog: BacklogCheck


class HealthReport(Answer):
    """GET /monitoring/health with the admin token (503 when critical)."""

    status: Verdict = Field(description="The worst check's verdict.")
    checks: HealthChecks
    uptime_s: float
    version: str


class HealthStatus(Answer):
    """GET /monitoring/health without the admin token (503 when critical)."""

    status: Verdict


Health = HealthReport | HealthStatus


class Accepted(Answer):
    """The two monitoring reports' answer (202)."""

    accepted: Literal[True]


class Slept(Answer):
    """The test route's answer."""

    slept_ms: float
    pid: int
