"""The answer of GET /monitoring/launch-report (format=json), section by section.

Declared on the route for the OpenAPI document (see :mod:`barberpro.api.answers`). Business and
market are the business-intelligence report's figures and models (docs/ANALYTICS.md); operations
are the live dashboard's sections over the whole ART day, from the `ops_hours` ledger. Instants
are ISO 8601 UTC, durations milliseconds; percentiles are null when nothing was observed.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from barberpro.analytics.answers import (
    CityMarket,
    EngagementSection,
    FunnelLeak,
    FunnelSection,
    InstallmentPlan,
    InstallmentsLowApproval,
    MethodRevenue,
    PeakHours,
    ProviderRow,
    ProvinceMarket,
    Rate,
    ReferralChannel,
    ReferralChannels,
    ReportRange,
    RetentionSection,
    RevenueSection,
    UnderservedProvince,
)
from barberpro.api.answers import Answer
from barberpro.monitoring.answers import Database, Latency, RouteStats, SlowQuery, WebhookStats
from barberpro.optimization.answers import OptimizationAction

Judged = Literal["ok", "warning", "critical", "no_data"]
#: The alert phases and severities (barberpro.alerts.answers has the same).
Phase = Literal["inactive", "pending", "firing", "resolved"]
Severity = Literal["critical", "warning"]
Sampled = Annotated[float | None, Field(description="Absent without samples.")]
StatusCount = Annotated[int | None, Field(description="Events of this status; absent if none.")]


class ReportThresholds(Answer):
    """What the report judges against: the alert rules' thresholds, or the launch plan's."""

    p95_warning_ms: float = Field(description="The api_p95_warning rule's.")
    p95_critical_ms: float = Field(description="The api_p95_critical rule's.")
    db_p95_warning_ms: float = Field(description="The db_query_p95_warning rule's.")
    webhook_success_target: float
    memory_percent: float = Field(description="The memory_critical rule's.")


# -- operations --------------------------------------------------------------------------------


class DayRoute(RouteStats):
    """One route template and method over the day."""

    p95_status: Judged = Field(description="Its p95 against the thresholds.")


class DayHttp(Latency):
    """Every request of the day, and per route."""

    requests: int
    rps: float = Field(description="Over the part of the day the service was seen up.")
    errors: int = Field(description="5xx answers.")
    error_rate: float
    routes: list[DayRoute] = Field(description="Busiest first.")
    p95_status: Judged


class HourTraffic(Answer):
    """The requests of one ART hour."""

    hour: int = Field(ge=0, le=23, description="ART hour of day.")
    starts_at: datetime
    requests: int
    rps: float = Field(description="Over the part of the hour the service was seen up.")
    errors: int
    p95_ms: float | None


class DayDatabase(Database):
    """The statements of the day (no pool: a day has no current pool use)."""

    slow_fingerprints: int = Field(description="Of the slowest, those over db_p95_warning_ms.")


class DayWebhooks(Latency):
    """Payment webhooks processed in the day, against the success target."""

    count: int = Field(description="Notifications, each once by its latest attempt.")
    failures: int = Field(description="Notifications whose latest attempt failed.")
    success_rate: float | None
    attempts: int = Field(description="Processing attempts, retries included.")
    failed_attempts: int
    by_provider: list[WebhookStats]
    target: float = Field(description="webhook_success_target.")
    meets_target: bool | None = Field(description="Null without webhooks.")


class DayWebSocket(Answer):
    """WebSocket connections of the day."""

    opened: int
    closed: int
    abnormal_closes: int
    peak_active: int = Field(description="The most open at once, every process, by minute.")


class DaySystem(Answer):
    """The processes' gauges, as sampled at each ledger flush (summed per minute)."""

    samples: int
    memory_percent_max: Sampled = None
    memory_percent_avg: Sampled = None
    memory_over_threshold_minutes: int | None = Field(
        default=None, description="Minutes over the memory threshold; absent without samples."
    )
    rss_bytes_max: int | None = Field(default=None, description="Absent without samples.")
    cpu_percent_max: Sampled = None
    cpu_percent_avg: Sampled = None
    event_loop_lag_max_ms: Sampled = None
    pool_use_max: float | None = Field(
        default=None, description="Pool use 0..1: null on SQLite (no pool), absent without samples."
    )


class PaymentEvents(Answer):
    """Payment events accepted in the day for one method, by MercadoPago status."""

    pending: StatusCount = None
    approved: StatusCount = None
    authorized: StatusCount = None
    in_process: StatusCount = None
    in_mediation: StatusCount = None
    rejected: StatusCount = None
    cancelled: StatusCount = None
    refunded: StatusCount = None
    charged_back: StatusCount = None
    unknown: StatusCount = Field(default=None, description="Without a status; absent if none.")
    rejected_rate: Rate = Field(description="rejected / the method's events.")


class Operations(Answer):
    """The day's monitoring series, summarised."""

    served_s: float = Field(description="Seconds of the day some process was seen up.")
    processes: int = Field(description="Processes that wrote hours of the day.")
    http: DayHttp
    hourly: list[HourTraffic] = Field(description="The 24 ART hours, in order.")
    db: DayDatabase
    webhooks: DayWebhooks
    websocket: DayWebSocket
    system: DaySystem
    payment_events: dict[str, PaymentEvents] = Field(
        description="By payment method (unknown without one, other past the metric's limit)."
    )


# -- business, market, health, alerts, optimization --------------------------------------------


class Business(Answer):
    """The business-intelligence report of the day, without its market and recommendations."""

    funnel: FunnelSection
    engagement: EngagementSection
    retention: RetentionSection
    providers: list[ProviderRow] = Field(description="The 20 with the highest gross.")
    revenue: RevenueSection
    referrals: list[ReferralChannel]


class Market(Answer):
    """The Argentina market: provinces, cities, payment methods and cuotas."""

    min_demand: int = Field(description="BARBERPRO_MARKET_MIN_DEMAND.")
    provinces: list[ProvinceMarket]
    cities: list[CityMarket] = Field(description="The 20 with the most demand.")
    sessions_without_province: int
    payment_methods: list[MethodRevenue]
    installments: list[InstallmentPlan]


class DayHealth(Answer):
    """System health over the day."""

    status: Literal["ok", "degraded", "critical"] = Field(
        description="critical when a critical alert fired, degraded when any did."
    )
    alerts_fired: int
    db_connection_failures: int
    http_error_rate: float
    webhook_success_rate: float | None
    memory_percent_max: float | None = Field(description="Null without samples.")
    event_loop_lag_max_ms: float | None = Field(description="Null without samples.")
    processes: int


class AlertTransition(Answer):
    """One recorded change of phase of one alert."""

    at: datetime
    alertname: str
    severity: Severity
    from_: Phase = Field(alias="from")
    to: Phase
    value: float | None = Field(description="The signal when it changed.")
    labels: dict[str, str]
    silenced: bool
    notified: bool


class DayAlerts(Answer):
    """The day's alert timeline."""

    fired_by_severity: dict[Severity, int] = Field(description="Transitions to firing.")
    timeline: list[AlertTransition] = Field(description="Oldest first; at most 1000.")


class DayOptimization(Answer):
    """The optimization engine's actions decided in the day."""

    actions: list[OptimizationAction] = Field(description="Oldest first; at most 500.")
    by_kind: dict[str, int]
    by_state: dict[str, int]


# -- recommendations ---------------------------------------------------------------------------


class RouteLoad(Answer):
    """A route's requests."""

    route: str
    method: str
    count: int


class SlowRoute(RouteLoad):
    """A route over the p95 warning threshold."""

    p95_ms: float | None


class ScalingEvidence(Answer):
    """The day's load: its peak hour, the routes over the threshold, the resources' peaks."""

    requests: int
    peak_hour: int = Field(ge=0, le=23, description="The ART hour with the most requests.")
    peak_hour_rps: float
    peak_hour_p95_ms: float | None
    p95_ms: float | None
    routes_over_threshold: list[SlowRoute]
    pool_use_max: float | None
    cpu_percent_max: float | None
    memory_percent_max: float | None
    busiest_routes: list[RouteLoad] = Field(description="The 3 where most time went.")


class Scaling(Answer):
    """Add capacity before day 7, or plan it from the day's peak."""

    area: Literal["scaling"]
    kind: Literal["add_capacity", "capacity_holds"] = Field(
        description="add_capacity: a route was over the p95 warning, or the pool or the CPU "
        "ran short; capacity_holds: none of those."
    )
    message: str
    evidence: ScalingEvidence


class SlowQueryEvidence(Answer):
    """A statement shape over the database threshold."""

    fingerprint: str
    operation: str
    count: int
    p95_ms: float | None
    total_ms: float
    threshold_ms: float


class SlowQueryAdvice(Answer):
    """Review the indexes of a slow statement."""

    area: Literal["database_indexes"]
    kind: Literal["slow_query"]
    message: str
    evidence: SlowQueryEvidence


class FastQueriesEvidence(Answer):
    """Every statement shape under the database threshold."""

    queries: int
    slowest: SlowQuery | None = Field(description="The shape with the highest p95.")
    threshold_ms: float


class QueriesFast(Answer):
    """No index is needed yet."""

    area: Literal["database_indexes"]
    kind: Literal["queries_fast"]
    message: str
    evidence: FastQueriesEvidence


class CacheEvidence(Answer):
    """A read route's reads against the writes, and the share a cache would serve."""

    route: str
    reads: int
    reads_per_s: float
    writes: int = Field(description="POST requests of the day (every route).")
    writes_per_s: float
    p95_ms: float | None
    ttl_s: int = Field(description="The cache lifetime priced.")
    expected_hit_rate: float


class CacheReadRoute(Answer):
    """Cache a read route read more often than its data changes."""

    area: Literal["cache"]
    kind: Literal["cache_read_route"]
    message: str
    evidence: CacheEvidence


class RejectionEvidence(Answer):
    """A payment method's rejections."""

    payment_method: str
    events: int
    rejected_share: float
    threshold: float


class MethodRejections(Answer):
    """A payment method rejected too often."""

    area: Literal["payment_flow"]
    kind: Literal["method_rejections"]
    message: str
    evidence: RejectionEvidence


class WebhookEvidence(Answer):
    """The webhooks against the success target."""

    count: int
    failures: int
    success_rate: float | None
    target: float


class WebhookReliability(Answer):
    """MercadoPago webhooks under the success target."""

    area: Literal["payment_flow"]
    kind: Literal["webhook_reliability"]
    message: str
    evidence: WebhookEvidence


class DayFunnelLeak(FunnelLeak):
    """The business report's funnel leak."""

    area: Literal["user_experience"]


class DayReferralChannels(ReferralChannels):
    """The business report's channel comparison."""

    area: Literal["user_experience"]


class DayUnderservedProvince(UnderservedProvince):
    """The business report's underserved province."""

    area: Literal["market"]


class DayInstallmentsLowApproval(InstallmentsLowApproval):
    """The business report's seldom approved installment plan."""

    area: Literal["payment_flow"]


class DayPeakHours(PeakHours):
    """The business report's peak hours."""

    area: Literal["scaling"]


Day7 = Annotated[
    Scaling
    | SlowQueryAdvice
    | QueriesFast
    | CacheReadRoute
    | MethodRejections
    | WebhookReliability
    | DayFunnelLeak
    | DayReferralChannels
    | DayUnderservedProvince
    | DayInstallmentsLowApproval
    | DayPeakHours,
    Field(discriminator="kind"),
]


# -- the report --------------------------------------------------------------------------------


class LaunchReport(Answer):
    """GET /monitoring/launch-report: one ART day."""

    date: dt.date = Field(description="The ART day.")
    range: ReportRange
    generated_at: datetime
    empty: bool = Field(description="Nothing was recorded: no request, funnel, payment...")
    summary: str | None = Field(description="The one sentence of an empty day; else null.")
    thresholds: ReportThresholds
    operations: Operations
    business: Business
    market: Market
    health: DayHealth
    alerts: DayAlerts
    optimization: DayOptimization
    recommendations: list[Day7] = Field(
        description="Day-7 advice by area, each with its figures; none on an empty day."
    )
    build_ms: float = Field(description="How long the report took to build.")
