"""The alert state machine: Prometheus' pending/firing/resolved, checked under Hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from barberpro.alerts.state import INACTIVE, AlertState, Phase, step


class AlertLife(RuleBasedStateMachine):
    """Drive one alert with random conditions and clock steps; check it against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.for_s = 0.0
        self.state: AlertState = INACTIVE
        self.now = 1_000_000.0
        self.run_start: float | None = None  # start of the current run of holding evaluations
        self.fired_in_run = False
        self.ever_fired = False
        self.last_transition: tuple[Phase, Phase] | None = None
        self.before = INACTIVE.phase
        self.steps = 0

    @precondition(lambda self: self.steps == 0)
    @rule(for_s=st.sampled_from([0.0, 0.5, 10.0, 60.0, 300.0]))
    def choose_for(self, for_s: float) -> None:
        """Pick the rule's `for` before the first evaluation."""
        self.for_s = for_s

    @rule(
        holds=st.booleans(),
        dt=st.floats(min_value=0, max_value=120, allow_nan=False),
        value=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    )
    def evaluate(self, holds: bool, dt: float, value: float | None) -> None:
        """One evaluation `dt` seconds after the previous one."""
        self.now += dt
        self.steps += 1
        self.before = self.state.phase
        new, transition = step(self.state, holds, value, self.now, for_s=self.for_s)
        # A transition is reported exactly when the phase changes, with the right ends.
        if transition is None:
            assert new.phase is self.before
        else:
            assert (transition.before, transition.after) == (self.before, new.phase)
            assert transition.before is not transition.after
            assert transition.at == self.now
        assert new.value == value
        # The model: a run of holding evaluations fires once it has lasted `for`.
        if holds:
            if self.run_start is None:
                self.run_start = self.now
            if self.now - self.run_start >= self.for_s:
                self.fired_in_run = True
            expected = Phase.FIRING if self.fired_in_run else Phase.PENDING
        else:
            if self.before is Phase.FIRING or (self.before is Phase.RESOLVED):
                expected = Phase.RESOLVED
            else:
                expected = Phase.INACTIVE
            self.run_start = None
            self.fired_in_run = False
        assert new.phase is expected, (self.before, holds, new)
        if new.phase is Phase.FIRING:
            self.ever_fired = True
        self.state = new

    @invariant()
    def never_fires_before_for(self) -> None:
        """A firing alert's condition held for at least `for` before it fired."""
        s = self.state
        if s.phase is Phase.FIRING:
            assert s.active_since is not None
            assert s.fired_at is not None
            assert s.fired_at - s.active_since >= self.for_s

    @invariant()
    def resolved_only_after_firing(self) -> None:
        """Resolved is reached from firing only, never from pending."""
        if self.state.phase is Phase.RESOLVED:
            assert self.ever_fired
            assert self.before in (Phase.FIRING, Phase.RESOLVED)
            assert self.state.resolved_at is not None

    @invariant()
    def pending_has_not_lasted_for(self) -> None:
        """A pending alert started holding less than `for` ago."""
        s = self.state
        if s.phase is Phase.PENDING:
            assert s.active_since is not None
            assert self.now - s.active_since < self.for_s

    @invariant()
    def inactive_or_resolved_have_no_run(self) -> None:
        """Only pending and firing alerts carry the start of a run."""
        if self.state.phase in (Phase.INACTIVE, Phase.RESOLVED):
            assert self.state.active_since is None


TestAlertLife = AlertLife.TestCase
TestAlertLife.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


@given(
    for_s=st.floats(min_value=0.001, max_value=600, allow_nan=False),
    value=st.floats(allow_nan=False),
)
def test_pending_alert_that_stops_goes_back_to_inactive(for_s: float, value: float) -> None:
    """A pending alert whose condition stops returns to inactive, not resolved."""
    pending, first = step(INACTIVE, True, value, 100.0, for_s=for_s)
    assert pending.phase is Phase.PENDING
    assert first is not None
    back, transition = step(pending, False, value, 100.0, for_s=for_s)
    assert back.phase is Phase.INACTIVE
    assert transition is not None
    assert transition.after is Phase.INACTIVE


@given(value=st.floats(allow_nan=False))
def test_zero_for_fires_on_first_holding_evaluation(value: float) -> None:
    """With `for` 0, the first evaluation where the condition holds fires."""
    state, transition = step(INACTIVE, True, value, 5.0, for_s=0)
    assert state.phase is Phase.FIRING
    assert state.fired_at == 5.0
    assert transition is not None
    assert transition.before is Phase.INACTIVE


@given(back=st.floats(min_value=0.001, max_value=1000, allow_nan=False))
def test_clock_going_back_does_not_count_towards_for(back: float) -> None:
    """A clock that steps backwards keeps a pending alert pending."""
    pending, _ = step(INACTIVE, True, 1.0, 1000.0, for_s=60)
    state, transition = step(pending, True, 1.0, 1000.0 - back, for_s=60)
    assert state.phase is Phase.PENDING
    assert transition is None


def test_resolved_alert_fires_again_when_the_condition_returns() -> None:
    """After resolving, a new run goes through pending again, measured from its own start."""
    s, _ = step(INACTIVE, True, 1.0, 0.0, for_s=10)
    s, _ = step(s, True, 1.0, 10.0, for_s=10)
    assert s.phase is Phase.FIRING
    s, _ = step(s, False, 0.0, 20.0, for_s=10)
    assert s.phase is Phase.RESOLVED
    s, t = step(s, True, 1.0, 30.0, for_s=10)
    assert s.phase is Phase.PENDING
    assert s.active_since == 30.0
    assert t is not None
    assert t.before is Phase.RESOLVED
