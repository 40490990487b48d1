"""The answers of the two analytics reports, field by field (docs/ANALYTICS.md defines each).

Declared on the routes for the OpenAPI document; the reports are rendered by orjson as before
(see :mod:`barberpro.api.answers`). Rates are fractions 0..1, null when their denominator is
zero; amounts ending ``_ars`` are ARS with two decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from barberpro.api.answers import Answer

StepName = Literal[
    "search", "provider_view", "slot_selected", "booking_created", "payment_completed"
]
Breakdown = Literal["province", "device", "referral_channel"]
Rate = Annotated[float | None, Field(description="A fraction 0..1; null when it would be 0/0.")]
Ars = Annotated[float, Field(description="ARS, two decimals.")]
Hour = Annotated[int, Field(ge=0, le=23, description="ART hour of day.")]


class ReportRange(Answer):
    """The range the report covers: ``[from, to)``."""

    from_: datetime = Field(alias="from", description="Start (included), in ART.")
    to: datetime = Field(description="End (excluded), in ART.")
    timezone: Literal["America/Argentina/Buenos_Aires"]


# -- funnel ------------------------------------------------------------------------------------


class FunnelStep(Answer):
    """One step of the funnel: the units reaching it and how they got there."""

    step: int = Field(ge=1, le=5)
    name: StepName
    units: int = Field(description="Units reaching this step.")
    conversion_from_previous: Rate = Field(description="units / units of the previous step.")
    conversion_from_start: Rate = Field(description="units / units of step 1.")
    drop_off: int = Field(description="Units of the previous step that did not reach this one.")
    drop_off_rate: Rate = Field(description="drop_off / units of the previous step.")
    median_seconds_from_previous: float | None = Field(
        description="Median time from the previous step in the units' chosen chains; "
        "null when no unit reached this step (or for step 1)."
    )


class FunnelGroup(Answer):
    """The funnel of the units of one breakdown value."""

    value: str = Field(description="Province code, device type or channel; unknown if none.")
    name: str | None = Field(
        default=None, description="The province's name (province breakdown; null for unknown)."
    )
    units: int
    steps: list[FunnelStep]


class FunnelSection(Answer):
    """Units by furthest step within the window from step 1, by first touch."""

    window_hours: float = Field(description="BARBERPRO_FUNNEL_WINDOW_HOURS.")
    units: int = Field(description="Units with a step-1 event in the range.")
    steps: list[FunnelStep]
    breakdowns: dict[Breakdown, list[FunnelGroup]] = Field(
        description="Each breakdown's values, most units first; empty on the dashboard."
    )


# -- engagement --------------------------------------------------------------------------------


class ActionCount(Answer):
    """One of the most frequent actions."""

    action: str
    count: int


class DeviceSessions(Answer):
    """Sessions started in the range on one device type."""

    device_type: str = Field(description="mobile, desktop, tablet or unknown.")
    sessions: int
    share: Rate = Field(description="Of the range's sessions.")


class DashboardEngagementSection(Answer):
    """Sessions, activity and devices of the range."""

    sessions: int = Field(description="Sessions started in the range.")
    active_sessions: int = Field(
        description="Sessions whose latest event is under BARBERPRO_SESSION_TIMEOUT_MINUTES "
        "old, whatever the range."
    )
    avg_session_seconds: float | None = Field(description="Null without sessions.")
    actions: int = Field(description="Action events in the range.")
    actions_per_session: float | None = Field(description="Null without sessions.")
    top_actions: list[ActionCount] = Field(description="The 10 most frequent, count descending.")
    devices: list[DeviceSessions]


class EngagementSection(DashboardEngagementSection):
    """The dashboard's engagement and the returning clients."""

    returning_clients: int = Field(
        description="Clients of the range's sessions whose first touch came before the range."
    )


# -- referrals, revenue, market, retention, providers ------------------------------------------


class ReferralChannel(Answer):
    """Sessions, funnel units and revenue of one first-touch channel."""

    channel: str = Field(description="A named channel (always listed), or unknown.")
    sessions: int
    units: int = Field(description="Funnel units of the range with this first-touch channel.")
    units_converted: int = Field(description="Of those, units reaching payment_completed.")
    conversion_rate: Rate
    revenue_ars: Ars


class HourRevenue(Answer):
    """Approvals on the gross basis in one ART hour of day."""

    hour: Hour
    gross_ars: Ars
    payments: int


class MethodRevenue(Answer):
    """Approvals on the gross basis by payment method and type."""

    payment_method: str
    payment_type: str
    payments: int
    gross_ars: Ars
    share: Rate = Field(description="Of the range's gross.")


class InstallmentPlan(Answer):
    """Approval of one number of cuotas."""

    installments: int | None
    approved: int = Field(description="Approvals on the gross basis (any currency).")
    rejected: int = Field(description="Payments whose latest status, in the range, is rejected.")
    approval_rate: Rate


class OtherCurrency(Answer):
    """Approvals in a currency other than ARS, never summed with it."""

    currency: str
    payments: int
    gross: float
    commission: float


class RevenueSection(Answer):
    """Payments approved in the range (gross basis), refunds and chargebacks, in ARS."""

    currency: Literal["ARS"]
    gross_ars: Ars
    commission_ars: Ars = Field(
        description="Of the approvals, less what the range's first returns took back."
    )
    refunds_ars: Ars
    chargebacks_ars: Ars
    net_ars: Ars = Field(description="gross - refunds - chargebacks.")
    payments_approved: int
    hourly_art: list[HourRevenue] = Field(description="The 24 ART hours of day, in order.")
    by_method: list[MethodRevenue]
    installments: list[InstallmentPlan]
    other_currencies: list[OtherCurrency]


class ProvinceMarket(Answer):
    """Demand and supply in one province."""

    province: str = Field(description="ISO 3166-2:AR code.")
    name: str
    sessions: int
    searches: int
    bookings: int
    demand: int = Field(description="searches + bookings.")
    active_providers: int
    demand_per_provider: float | None = Field(description="Null when no provider is active.")
    underserved: bool


class CityMarket(Answer):
    """Sessions and activity that name a city."""

    province: str
    city: str
    sessions: int
    searches: int
    bookings: int


class MarketSection(Answer):
    """Provinces and cities by demand, the underserved ones flagged."""

    min_demand: int = Field(description="BARBERPRO_MARKET_MIN_DEMAND.")
    provinces: list[ProvinceMarket]
    cities: list[CityMarket]
    sessions_without_province: int


class RetentionWeek(Answer):
    """A cohort's clients with a completed payment in its n-th week."""

    week: int = Field(description="Weeks after the cohort's; 0 is the cohort itself.")
    week_start: date
    clients: int
    rate: Rate = Field(description="clients / cohort size.")


class Cohort(Answer):
    """The clients of one ART week's first payments."""

    cohort_week: date = Field(description="The Monday of the cohort's ART week.")
    clients: int
    periods: list[RetentionWeek]


class RetentionSection(Answer):
    """Every cohort week of the range, empty ones included."""

    cohorts: list[Cohort]


class ProviderRow(Answer):
    """One provider of the leaderboard."""

    provider_id: str
    bookings_completed: int
    cancellations: int
    no_shows: int
    gross_ars: Ars
    commission_ars: Ars = Field(description="Of its approvals, less what its returns took back.")
    net_ars: Ars = Field(description="gross - refunds - chargebacks - commission_ars.")
    rating_avg: float | None = Field(description="Two decimals; null without ratings.")
    ratings: int
    peak_hours_art: list[Hour] = Field(description="Up to 3, most completed bookings first.")


# -- recommendations ---------------------------------------------------------------------------


class LeakEvidence(Answer):
    """The step losing most units of all units, or of one breakdown value."""

    breakdown: Breakdown | None = Field(description="Null: all units.")
    value: str | None = Field(description="The breakdown value; null for all units.")
    name: str | None = Field(description="The province's name (province breakdown), else null.")
    units: int = Field(description="Units of the scope that searched (step 1).")
    min_units: int = Field(description="Scopes with fewer units are not searched for a leak.")
    from_step: StepName
    to_step: StepName
    units_before: int
    units_after: int
    drop_off: int
    drop_off_rate: Rate


class UnderservedEvidence(Answer):
    """An underserved province's figures (see ProvinceMarket)."""

    province: str
    name: str
    searches: int
    bookings: int
    demand: int
    active_providers: int
    demand_per_provider: float | None
    min_demand: int
    rank: int = Field(ge=1, description="1 is the most pressed: no barber, then per barber.")
    provinces_ranked: int = Field(description="How many provinces are underserved.")
    benchmark_demand_per_provider: float | None = Field(
        description="Demand per barber of the provinces with min_demand and a barber, together;"
        " null when none has a barber."
    )


class InstallmentsEvidence(InstallmentPlan):
    """A plan approved less often than the threshold."""

    threshold: float


class ChannelEvidence(Answer):
    """A channel's conversion (see ReferralChannel)."""

    channel: str
    units: int
    units_converted: int
    conversion_rate: Rate
    revenue_ars: Ars


class Significance(Answer):
    """The test two groups' rates went through (barberpro.analytics.significance)."""

    test: Literal["fisher_exact", "two_proportion_z"] = Field(
        description="Fisher's exact test when an expected cell is below 5, else the z-test."
    )
    p_value: float = Field(description="Two-sided, 4 decimals.")
    alpha: float = Field(description="Significant when p_value is below it.")


class ChannelsEvidence(Answer):
    """The best and the worst converting named channels, significantly different."""

    best: ChannelEvidence
    worst: ChannelEvidence
    min_units: int = Field(description="Channels with fewer units are not compared.")
    significance: Significance


class PeakHoursEvidence(Answer):
    """The three ART hours with the most approved payments, and every hour tied with them."""

    hours: list[HourRevenue] = Field(description="Most payments first, then by hour.")
    total_payments: int
    tied: bool = Field(description="Some of the hours listed have the same count.")


class FunnelLeak(Answer):
    """Look at the step that loses most clients first."""

    kind: Literal["funnel_leak"]
    message: str
    evidence: LeakEvidence


class UnderservedProvince(Answer):
    """Recruit barbers where demand per barber is highest."""

    kind: Literal["underserved_province"]
    message: str
    evidence: UnderservedEvidence


class InstallmentsLowApproval(Answer):
    """Review an installment plan that is seldom approved."""

    kind: Literal["installments_low_approval"]
    message: str
    evidence: InstallmentsEvidence


class ReferralChannels(Answer):
    """Put the budget behind the best converting channel."""

    kind: Literal["referral_channels"]
    message: str
    evidence: ChannelsEvidence


class PeakHours(Answer):
    """Staff support when most payments happen."""

    kind: Literal["peak_hours"]
    message: str
    evidence: PeakHoursEvidence


Recommendation = Annotated[
    FunnelLeak | UnderservedProvince | InstallmentsLowApproval | ReferralChannels | PeakHours,
    Field(discriminator="kind"),
]


# -- the reports -------------------------------------------------------------------------------


class AnalyticsDashboard(Answer):
    """GET /analytics/dashboard."""

    range: ReportRange
    funnel: FunnelSection
    engagement: DashboardEngagementSection
    referrals: list[ReferralChannel]
    revenue: RevenueSection
    regions: list[ProvinceMarket] = Field(description="The market's provinces.")


class BusinessIntelligence(Answer):
    """GET /analytics/business-intelligence."""

    range: ReportRange
    funnel: FunnelSection
    engagement: EngagementSection
    retention: RetentionSection
    providers: list[ProviderRow] = Field(description="By gross, then provider id; providers=N.")
    revenue: RevenueSection
    market: MarketSection
    referrals: list[ReferralChannel]
    recommendations: list[Recommendation] = Field(
        description="Each with the figures it rests on; none without data."
    )
