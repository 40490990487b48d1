"""The live alert of one rule: its identity, its state and whether its page went out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from barberpro.alerts import rules as rules_
from barberpro.alerts.rules import Rule
from barberpro.alerts.state import INACTIVE, AlertState, Phase

__all__ = ["ACTIVE", "Alert"]

#: The phases in which an alert is listed as active.
ACTIVE = (Phase.PENDING, Phase.FIRING)


@dataclass(slots=True)
class Alert:
    """The live alert of one rule: its identity, its state and whether a page went out."""

    rule: Rule
    labels: Mapping[str, str]
    fingerprint: str
    state: AlertState = INACTIVE
    # True once its firing was notified, until its resolution is: a resolved message is only
    # sent for a firing one that was sent, and a firing one that was muted is sent on unmute.
    notified: bool = False
    silenced_by: Sequence[str] = field(default_factory=tuple)
    inhibited: bool = False
    # What the last sample's value is made of (e.g. "mismatch 31"), when its signal says.
    detail: str | None = None

    @classmethod
    def of(cls, rule: Rule) -> Alert:
        """Return the inactive alert of ``rule``."""
        labels = rules_.alert_labels(rule)
        return cls(rule=rule, labels=labels, fingerprint=rules_.fingerprint(labels))

    def view(self) -> dict[str, Any]:
        """Return the alert as JSON-able data for the API and the dashboard."""
        s = self.state
        return {
            "alertname": self.rule.name,
            "fingerprint": self.fingerprint,
            "state": s.phase.value,
            "severity": self.rule.severity,
            "labels": dict(self.labels),
            "summary": self.rule.summary,
            "detail": self.detail,
            "value": s.value,
            "threshold": self.rule.threshold,
            "since": s.changed_at,
            "active_since": s.active_since,
            "fired_at": s.fired_at,
            "resolved_at": s.resolved_at,
            "silenced": bool(self.silenced_by),
            "silenced_by": list(self.silenced_by),
            "inhibited": self.inhibited,
            "notified": self.notified,
        }
