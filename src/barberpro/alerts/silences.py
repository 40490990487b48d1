"""Silences: label matchers with an expiry that mute an alert's notifications (pure logic)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["MATCH_OPS", "Matcher", "Silence", "silenced_by"]

MatchOp = Literal["=", "!=", "=~", "!~"]
MATCH_OPS: tuple[MatchOp, ...] = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """``name op value`` on one label, as in Alertmanager; regexes match the whole value."""

    name: str
    value: str
    op: MatchOp = "="

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return True when the label (empty when absent) satisfies the matcher."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes alerts matching every matcher between ``starts_at`` and ``ends_at`` (epoch s)."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    created_at: float

    def active(self, now: float) -> bool:
        """Return True while the silence is in force."""
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return True when every matcher matches ``labels`` (which include alertname)."""
        return all(m.matches(labels) for m in self.matchers)

    def status(self, now: float) -> str:
        """Return Alertmanager's word for the silence at ``now``: pending, active or expired."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"


def silenced_by(
    silences: Iterable[Silence], labels: Mapping[str, str], now: float
) -> Sequence[str]:
    """Return the ids of the silences in force at ``now`` that mute an alert with ``labels``."""
    return [s.id for s in silences if s.active(now) and s.matches(labels)]
