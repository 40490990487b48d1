"""The alert state machine, as a pure function with the clock passed in.

States have Prometheus' meaning:

- ``inactive``: the condition does not hold;
- ``pending``: it holds, for less than the rule's ``for`` so far;
- ``firing``: it has held for at least ``for``;
- ``resolved``: it stopped holding after firing (until it holds again).

A pending alert whose condition stops goes back to inactive: nobody was told it existed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["INACTIVE", "AlertState", "Phase", "Transition", "step"]


class Phase(StrEnum):
    """Where an alert is in its life."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertState:
    """One alert's state after an evaluation; times are wall-clock seconds (epoch)."""

    phase: Phase = Phase.INACTIVE
    value: float | None = None
    # When the condition started to hold in the current run (pending or firing), else None.
    active_since: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    # When the phase last changed (None before the first change).
    changed_at: float | None = None


INACTIVE = AlertState()


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of phase, at ``at``, with the value that caused it."""

    before: Phase
    after: Phase
    at: float
    value: float | None


def step(
    state: AlertState, holds: bool, value: float | None, now: float, *, for_s: float
) -> tuple[AlertState, Transition | None]:
    """Return the state after one evaluation at ``now``, and the transition it made, if any.

    ``holds`` is whether the rule's condition held at ``now`` (with enough samples); ``for_s``
    is how long it must hold before the alert fires. A clock that went backwards never makes
    time count towards ``for``.
    """
    phase = state.phase
    if holds:
        if phase in (Phase.INACTIVE, Phase.RESOLVED):
            if for_s <= 0:
                new = AlertState(Phase.FIRING, value, now, now, None, now)
            else:
                new = AlertState(Phase.PENDING, value, now, None, None, now)
            return new, Transition(phase, new.phase, now, value)
        if phase is Phase.PENDING:
            since = state.active_since if state.active_since is not None else now
            if now - since >= for_s:
                new = replace(state, phase=Phase.FIRING, value=value, fired_at=now, changed_at=now)
                return new, Transition(phase, Phase.FIRING, now, value)
            return replace(state, value=value), None
        return replace(state, value=value), None  # firing goes on firing
    if phase is Phase.PENDING:
        new = AlertState(Phase.INACTIVE, value, None, None, None, now)
        return new, Transition(phase, Phase.INACTIVE, now, value)
    if phase is Phase.FIRING:
        new = replace(
            state,
            phase=Phase.RESOLVED,
            value=value,
            active_since=None,
            resolved_at=now,
            changed_at=now,
        )
        return new, Transition(phase, Phase.RESOLVED, now, value)
    return replace(state, value=value), None  # inactive or resolved: nothing to do
