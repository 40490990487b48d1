"""The answers of the alerts routes and the alerts section of the monitoring dashboard.

Declared on the routes for the OpenAPI document (see :mod:`barberpro.api.answers`). Times are
ISO 8601 UTC with milliseconds; null when the event has not happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from barberpro.api.answers import Answer

Phase = Literal["inactive", "pending", "firing", "resolved"]
Severity = Literal["critical", "warning"]


class AlertView(Answer):
    """One pending or firing alert."""

    alertname: str = Field(description="The rule's name.")
    fingerprint: str = Field(description="Identifies the alert by its labels.")
    state: Phase
    severity: Severity
    labels: dict[str, str]
    summary: str
    detail: str | None = Field(
        description="What the value is made of, when its signal says (e.g. 'mismatch 31')."
    )
    value: float | None = Field(description="The signal at the latest evaluation.")
    threshold: float
    since: datetime | None = Field(description="When the state last changed.")
    active_since: datetime | None = Field(description="When the condition started to hold.")
    fired_at: datetime | None
    resolved_at: datetime | None
    silenced: bool
    silenced_by: list[str] = Field(description="Ids of the silences muting it.")
    inhibited: bool = Field(description="Muted by a firing critical alert of its kind.")
    notified: bool = Field(description="Its firing was notified.")


class MatcherView(Answer):
    """One label matcher of a silence."""

    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str


class SilenceView(Answer):
    """A silence (POST /monitoring/alerts/silences answers the one it made)."""

    id: str
    matchers: list[MatcherView]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    status: Literal["pending", "active", "expired"]


class TransitionView(Answer):
    """One recorded change of phase of one alert."""

    at: datetime
    alertname: str
    fingerprint: str
    severity: Severity
    from_: Phase = Field(alias="from")
    to: Phase
    value: float | None
    labels: dict[str, str]
    silenced: bool
    inhibited: bool
    notified: bool


class RuleView(Answer):
    """One rule and the phase of its alert."""

    name: str
    signal: str
    op: Literal[">", "<"]
    threshold: float
    window_s: float
    for_s: float = Field(description="How long the condition must hold before firing.")
    min_samples: int = Field(description="Observations needed before the rule is evaluated.")
    severity: Severity
    kind: str = Field(description="With target, what inhibition matches on.")
    target: str
    state: Phase


class Overview(Answer):
    """GET /monitoring/alerts: active alerts, live silences, newest transitions, every rule."""

    evaluated_at: datetime | None = Field(description="The latest evaluation; null before one.")
    evaluating_here: bool = Field(description="This instance is the one evaluating the rules.")
    interval_s: float
    alerts: list[AlertView] = Field(description="Pending and firing, critical first.")
    silences: list[SilenceView]
    history: list[TransitionView] = Field(description="Newest first; history=N of them.")
    rules: list[RuleView]


class DashboardAlerts(Answer):
    """The alerts section of GET /monitoring/dashboard."""

    firing: int
    pending: int
    active: list[AlertView]
    silences: int = Field(description="Live silences.")
    recent: list[TransitionView] = Field(description="The 10 newest transitions.")
    evaluated_at: datetime | None
