"""Every decision of the engine under Hypothesis: hysteresis, bounds, monotonicity, verdicts."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from barberpro.optimization.decisions import (
    CacheLimits,
    EmergencyState,
    Measure,
    Move,
    PressureLimits,
    RouteWindow,
    StageLimits,
    Verdict,
    adaptive_ttl,
    aimd,
    cache_move,
    emergency_step,
    gradient2,
    judge,
    pool_size,
    pressure,
    should_trim,
    xfetch_due,
)

STAGES = StageLimits()  # enter 1.0 / 1.5, leave 0.8 / 1.2, 3 windows, 60 s
CACHE = CacheLimits()  # slow 150 ms, fast 50 ms, 20 requests, 20% hits, 60 s on

finite = {"allow_nan": False, "allow_infinity": False}
low = st.floats(min_value=0.0, max_value=0.9999, **finite)  # under stage 1's entry
high = st.floats(min_value=1.0, max_value=5.0, **finite)  # at or over it
dt = st.floats(min_value=0.0, max_value=30.0, **finite)


def run(
    loads: list[float], *, state: EmergencyState | None = None, step_s: float = 5.0
) -> list[EmergencyState]:
    """Step the emergency state through ``loads``, one window every ``step_s``."""
    state = state or EmergencyState()
    now = 1_000.0
    seen = []
    for load in loads:
        now += step_s
        state = emergency_step(state, load, now=now, limits=STAGES)
        seen.append(state)
    return seen


# -- emergency mode ----------------------------------------------------------------------------


@given(n=st.integers(min_value=1, max_value=200))
def test_a_pressure_alternating_around_the_entry_never_enters(n: int) -> None:
    """0.95, 1.05, 0.95, ...: never 3 windows in a row over 1.0, so stage 0 throughout."""
    loads = [0.95 if i % 2 == 0 else 1.05 for i in range(n)]
    assert {s.stage for s in run(loads)} == {0}


@given(
    runs=st.lists(st.tuples(st.lists(high, max_size=2), low), max_size=40),
    tail=st.lists(high, max_size=2),
)
def test_fewer_than_three_consecutive_windows_over_the_entry_never_enter(
    runs: list[tuple[list[float], float]], tail: list[float]
) -> None:
    """Any sequence without 3 consecutive windows at or over 1.0 keeps stage 0, whatever the
    peaks (5.0 included: a spike is no stage 2 either)."""
    loads = [x for highs, under in runs for x in (*highs, under)] + tail
    assert all(s.stage == 0 for s in run(loads))


@given(before=st.lists(low, max_size=10), three=st.lists(high, min_size=3, max_size=3))
def test_three_consecutive_windows_over_the_entry_enter(
    before: list[float], three: list[float]
) -> None:
    """Entering takes exactly 3 windows in a row: not on the 2nd, on the 3rd; the stage is the
    highest whose entry all three met (stage 2 only when all three were at 1.5 or more)."""
    states = run([*before, *three])
    assert all(s.stage == 0 for s in states[: len(before) + 2])
    expected = 2 if min(three) >= STAGES.enter[1] else 1
    assert states[-1].stage == expected


@given(loads=st.lists(st.floats(min_value=1.0, max_value=1.4999, **finite), min_size=3))
def test_stage_2_is_not_entered_from_stage_1_level_pressure(loads: list[float]) -> None:
    """Pressure between the two entries enters stage 1 and never stage 2."""
    assert run(loads)[-1].stage == 1
    assert max(s.stage for s in run(loads)) == 1


def test_two_stage_1_windows_and_a_spike_enter_stage_1_only() -> None:
    """1.1, 1.1, 1.6: three windows over stage 1's entry but one over stage 2's."""
    assert run([1.1, 1.1, 1.6])[-1].stage == 1
    assert run([1.6, 1.6, 1.6])[-1].stage == 2


def _stage_1() -> EmergencyState:
    return EmergencyState(stage=1, since=1_000.0)


@st.composite
def never_60_s_under_exit(draw: st.DrawFn) -> list[tuple[float, float]]:
    """(seconds since the previous window, load) pairs, loads under 1.5 (no stage 2), where
    every run of windows under the exit (0.8) spans less than 60 s."""
    steps: list[tuple[float, float]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        gaps = draw(st.lists(dt, max_size=8))
        if sum(gaps[1:]) >= STAGES.recovery_s:  # the run spans the gaps after its first window
            scale = (STAGES.recovery_s - 0.5) / sum(gaps[1:])
            gaps = [gaps[0], *(g * scale for g in gaps[1:])]
        steps += [(g, draw(st.floats(min_value=0.0, max_value=0.7999, **finite))) for g in gaps]
        # then a window at or over the exit, which ends the run
        steps.append((draw(dt), draw(st.floats(min_value=0.8, max_value=1.4999, **finite))))
    return steps


@given(steps=never_60_s_under_exit())
def test_stage_1_is_kept_until_60_s_under_the_exit(steps: list[tuple[float, float]]) -> None:
    """Once in stage 1, any sequence that never stays under 0.8 for 60 s never leaves it."""
    state, now = _stage_1(), 1_000.0
    for gap, load in steps:
        now += gap
        state = emergency_step(state, load, now=now, limits=STAGES)
        assert state.stage == 1, (gap, load, state)


@given(loads=st.lists(st.floats(min_value=0.0, max_value=0.7999, **finite), min_size=1))
def test_stage_1_is_left_after_60_s_under_the_exit(loads: list[float]) -> None:
    """Windows under 0.8 every 10 s: still stage 1 until 60 s after the first, then stage 0."""
    state, first = _stage_1(), 2_000.0
    for i, load in enumerate([*loads, *([0.5] * 7)]):
        now = first + 10.0 * i
        state = emergency_step(state, load, now=now, limits=STAGES)
        if now - first < STAGES.recovery_s:
            assert state.stage == 1
        else:
            assert state.stage == 0
            break
    assert state.stage == 0


@given(load=st.floats(min_value=0.0, max_value=10.0, **finite), stage=st.sampled_from([0, 1, 2]))
def test_a_forced_state_is_kept_whatever_the_pressure(load: float, stage: int) -> None:
    """A person's forced state is not the engine's to change."""
    for forced in (True, False):
        state = EmergencyState(stage=stage, forced=forced, since=5.0)
        assert emergency_step(state, load, now=100.0, limits=STAGES) == state


@given(
    saturation=st.floats(min_value=0, max_value=10, **finite),
    lag=st.floats(min_value=0, max_value=1000, **finite),
    memory=st.floats(min_value=0, max_value=100, **finite),
    p95=st.none() | st.floats(min_value=0, max_value=10_000, **finite),
)
def test_pressure_is_the_largest_signal_over_its_target(
    saturation: float, lag: float, memory: float, p95: float | None
) -> None:
    """The pressure is the largest ratio, and the name returned is a signal holding it."""
    limits = PressureLimits()
    parts = {
        "concurrency_saturation": saturation,
        "event_loop_lag": lag / limits.lag_target_ms,
        "memory": memory / limits.memory_percent,
        "p95": (p95 or 0.0) / limits.p95_critical_ms,
    }
    load, name = pressure(
        saturation=saturation, lag_ms=lag, memory_percent=memory, p95_ms=p95, limits=limits
    )
    assert load == max(parts.values())
    assert parts[name] == load


# -- route caching -----------------------------------------------------------------------------


windows = st.builds(
    RouteWindow,
    requests=st.integers(min_value=0, max_value=10_000),
    p95_ms=st.none() | st.floats(min_value=0, max_value=5_000, **finite),
    computed=st.integers(min_value=0, max_value=10_000),
    computed_p95_ms=st.none() | st.floats(min_value=0, max_value=5_000, **finite),
    hits=st.integers(min_value=0, max_value=10_000),
)
times = st.floats(min_value=0, max_value=1e6, **finite)


@given(window=windows, now=times, cooling=st.floats(min_value=0.001, max_value=1e5, **finite))
def test_a_cache_is_never_turned_on_within_its_cooldown(
    window: RouteWindow, now: float, cooling: float
) -> None:
    """A rolled-back cache stays off until its cooldown is over, however slow the route."""
    move, _ = cache_move(
        window, enabled=False, since=0.0, cooldown_until=now + cooling, now=now, limits=CACHE
    )
    assert move is Move.HOLD


@given(window=windows, now=times, on_for=st.floats(min_value=0, max_value=59.999, **finite))
def test_a_cache_is_never_turned_off_before_min_on(
    window: RouteWindow, now: float, on_for: float
) -> None:
    """A cache turned on stays on at least 60 s, whatever its hit rate."""
    move, _ = cache_move(
        window, enabled=True, since=now - on_for, cooldown_until=0.0, now=now, limits=CACHE
    )
    assert move is not Move.DISABLE


@given(window=windows, requests=st.integers(0, 19), now=times, enabled=st.booleans())
def test_nothing_is_decided_on_fewer_than_min_requests(
    window: RouteWindow, requests: int, now: float, enabled: bool
) -> None:
    """Under 20 requests in the window: hold."""
    window = replace(window, requests=requests)
    move, _ = cache_move(
        window, enabled=enabled, since=0.0, cooldown_until=0.0, now=now, limits=CACHE
    )
    assert move is Move.HOLD


@st.composite
def useful_windows(draw: st.DrawFn) -> RouteWindow:
    """A window of a cache that serves at least 20% of its lookups and whose computations stay
    slower than 50 ms, its route's p95 anywhere around the 150 ms threshold."""
    computed = draw(st.integers(min_value=0, max_value=1000))
    hits = draw(st.integers(min_value=max(1, math.ceil(computed / 4)), max_value=5000))
    return RouteWindow(
        requests=draw(st.integers(min_value=CACHE.min_requests, max_value=10_000)),
        p95_ms=draw(st.sampled_from([140.0, 149.9, 150.0, 150.1, 160.0])),
        computed=computed,
        computed_p95_ms=draw(st.none() | st.floats(min_value=50.001, max_value=5_000, **finite)),
        hits=hits,
    )


@given(seq=st.lists(useful_windows(), min_size=1, max_size=30))
def test_a_useful_cache_oscillating_around_the_threshold_stays_on(
    seq: list[RouteWindow],
) -> None:
    """Cache on, the route's p95 going over and under 150 ms: the cache stays on."""
    since, now = 1_000.0, 1_000.0
    for window in seq:
        now += 61.0
        move, _ = cache_move(
            window, enabled=True, since=since, cooldown_until=0.0, now=now, limits=CACHE
        )
        assert move is Move.HOLD


@given(p95=st.floats(min_value=150.001, max_value=5_000, **finite))
def test_a_slow_route_gets_its_cache(p95: float) -> None:
    """Cache off, enough requests, p95 over 150 ms and no cooldown: on."""
    window = RouteWindow(requests=20, p95_ms=p95, computed=20, computed_p95_ms=p95, hits=0)
    move, reason = cache_move(
        window, enabled=False, since=0.0, cooldown_until=0.0, now=10.0, limits=CACHE
    )
    assert move is Move.ENABLE
    assert "p95" in reason


def test_a_cache_that_serves_nothing_goes_off_after_min_on() -> None:
    """On for 60 s, 0% hits: off, saying the hit rate."""
    window = RouteWindow(requests=40, p95_ms=300.0, computed=40, computed_p95_ms=300.0, hits=0)
    move, reason = cache_move(
        window, enabled=True, since=0.0, cooldown_until=0.0, now=60.0, limits=CACHE
    )
    assert (move, "hit rate" in reason) == (Move.DISABLE, True)


@given(
    base=st.floats(min_value=0.1, max_value=600, **finite),
    lo=st.floats(min_value=0.1, max_value=60, **finite),
    span=st.floats(min_value=0, max_value=600, **finite),
    rates=st.lists(st.floats(min_value=0, max_value=1e6, **finite), min_size=2, max_size=10),
)
def test_adaptive_ttl_is_bounded_and_non_increasing_in_invalidations(
    base: float, lo: float, span: float, rates: list[float]
) -> None:
    """The lifetime stays within [lo, hi] and never grows as invalidations come faster."""
    hi = lo + span
    ttls = [adaptive_ttl(base, r, lo=lo, hi=hi) for r in sorted(rates)]
    assert all(lo <= t <= hi for t in ttls)
    assert all(a >= b for a, b in pairwise(ttls))
    assert adaptive_ttl(base, 0.0, lo=lo, hi=hi) == hi


@given(
    nows=st.lists(st.floats(min_value=0, max_value=1e4, **finite), min_size=2, max_size=10),
    expiry=st.floats(min_value=0, max_value=1e4, **finite),
    delta=st.floats(min_value=0, max_value=60, **finite),
    beta=st.floats(min_value=0, max_value=5, **finite),
    rand=st.floats(min_value=1e-12, max_value=1.0, **finite),
)
def test_xfetch_is_monotonic_in_time_and_due_at_expiry(
    nows: list[float], expiry: float, delta: float, beta: float, rand: float
) -> None:
    """Once due, due later too; always due at and after the expiry."""
    due = [
        xfetch_due(now=t, expiry=expiry, delta_s=delta, beta=beta, rand=rand) for t in sorted(nows)
    ]
    assert all(not a or b for a, b in pairwise(due))  # False..., then True...
    for t in (expiry, expiry + 0.001, expiry + 1e3):
        assert xfetch_due(now=t, expiry=expiry, delta_s=delta, beta=beta, rand=rand)


def test_xfetch_without_a_cost_is_due_only_at_expiry() -> None:
    """A value computed in no time (or rand 1) is recomputed at its expiry, not before."""
    assert not xfetch_due(now=9.99, expiry=10.0, delta_s=0.0, beta=1.0, rand=0.01)
    assert not xfetch_due(now=9.99, expiry=10.0, delta_s=5.0, beta=1.0, rand=1.0)
    assert xfetch_due(now=9.0, expiry=10.0, delta_s=5.0, beta=1.0, rand=0.01)


# -- judging an action -------------------------------------------------------------------------


@given(
    before=st.floats(min_value=0.01, max_value=10_000, **finite),
    after=st.floats(min_value=0, max_value=10_000, **finite),
    count=st.integers(min_value=20, max_value=10_000),
    gain=st.floats(min_value=0.0, max_value=0.9, **finite),
)
def test_kept_iff_the_p95_fell_by_the_required_gain(
    before: float, after: float, count: int, gain: float
) -> None:
    """KEPT exactly when the p95 fell by at least ``required_gain``; else ROLLED_BACK."""
    target = before * (1 - gain)
    assume(not math.isclose(after, target, rel_tol=1e-9, abs_tol=1e-9))
    verdict, reason, change = judge(
        Measure(before, 100), Measure(after, count), min_samples=20, required_gain=gain
    )
    assert verdict is (Verdict.KEPT if after < target else Verdict.ROLLED_BACK)
    assert change == pytest.approx((after - before) / before)
    assert f"{before:.1f}" in reason


@given(
    before=st.none() | st.floats(min_value=0, max_value=10_000, **finite),
    after=st.none() | st.floats(min_value=0, max_value=10_000, **finite),
    count=st.integers(min_value=0, max_value=10_000),
)
def test_waiting_under_min_samples(before: float | None, after: float | None, count: int) -> None:
    """Fewer than min_samples after (or no p95): WAITING, no change reported."""
    verdict, _, change = judge(
        Measure(before, 50), Measure(after, count), min_samples=20, required_gain=0.1
    )
    if count < 20 or after is None:
        assert (verdict, change) == (Verdict.WAITING, None)
    else:
        assert verdict is not Verdict.WAITING


# -- concurrency and healing -------------------------------------------------------------------


rtts = st.floats(min_value=1e-4, max_value=10, **finite)


@st.composite
def bounds(draw: st.DrawFn) -> tuple[float, float, float]:
    lo = draw(st.floats(min_value=1, max_value=100, **finite))
    hi = lo + draw(st.floats(min_value=0, max_value=1000, **finite))
    limit = draw(st.floats(min_value=lo, max_value=hi, **finite))
    return lo, hi, limit


@given(b=bounds(), short=rtts, long=rtts, queue=st.floats(min_value=0, max_value=100, **finite))
def test_gradient2_stays_within_bounds(
    b: tuple[float, float, float], short: float, long: float, queue: float
) -> None:
    """The limit never leaves [lo, hi]."""
    lo, hi, limit = b
    assert lo <= gradient2(limit, short_rtt=short, long_rtt=long, queue=queue, lo=lo, hi=hi) <= hi


@given(b=bounds(), short=rtts, long=rtts)
def test_gradient2_without_a_queue_never_grows_when_latency_rises(
    b: tuple[float, float, float], short: float, long: float
) -> None:
    """short > tolerance * long makes the gradient < 1: without the queue allowance the limit
    only shrinks.

    The math: limit' = limit + smoothing * (queue - (1 - gradient) * limit), so with a queue
    the limit still grows while queue > (1 - gradient) * limit (Netflix's Gradient2 does the
    same; the Limiter passes queue = sqrt(limit)). What always holds is the bound below.
    """
    lo, hi, limit = b
    assume(short > 1.5 * long)
    new = gradient2(limit, short_rtt=short, long_rtt=long, queue=0.0, lo=lo, hi=hi)
    assert new <= limit


@given(
    b=bounds(),
    short=rtts,
    long=rtts,
    queue=st.floats(min_value=0, max_value=100, **finite),
)
def test_gradient2_grows_by_at_most_the_smoothed_queue(
    b: tuple[float, float, float], short: float, long: float, queue: float
) -> None:
    """Whatever the latencies, one update adds at most smoothing * queue; with latency within
    tolerance (gradient 1) it adds exactly that (up to hi)."""
    lo, hi, limit = b
    new = gradient2(limit, short_rtt=short, long_rtt=long, queue=queue, lo=lo, hi=hi)
    assert new <= limit + 0.2 * queue + 1e-9
    if short <= 1.5 * long:
        assert new == pytest.approx(min(hi, limit + 0.2 * queue))


@given(b=bounds(), long=rtts, shorts=st.lists(rtts, min_size=2, max_size=8))
def test_gradient2_is_non_increasing_in_the_short_rtt(
    b: tuple[float, float, float], long: float, shorts: list[float]
) -> None:
    """The slower the recent requests, the lower (or equal) the next limit."""
    lo, hi, limit = b
    found = [
        gradient2(limit, short_rtt=s, long_rtt=long, queue=3.0, lo=lo, hi=hi)
        for s in sorted(shorts)
    ]
    assert all(a >= b - 1e-9 for a, b in pairwise(found))


@given(
    lo=st.integers(min_value=1, max_value=8),
    span=st.integers(min_value=0, max_value=64),
    data=st.data(),
    latency=st.none() | st.floats(min_value=0, max_value=10_000, **finite),
)
def test_aimd_halves_on_throttling_and_adds_one_otherwise(
    lo: int, span: int, data: st.DataObject, latency: float | None
) -> None:
    """A 429 halves the concurrency (not under lo); a calm round adds one (not over hi)."""
    hi = lo + span
    current = data.draw(st.integers(min_value=lo, max_value=hi))
    throttled = aimd(current, latency_ms=latency, throttled=True, target_ms=1000, lo=lo, hi=hi)
    assert throttled == max(lo, current // 2)
    calm = aimd(current, latency_ms=10.0, throttled=False, target_ms=1000, lo=lo, hi=hi)
    assert calm == min(hi, current + 1)
    slow = aimd(current, latency_ms=1000.1, throttled=False, target_ms=1000, lo=lo, hi=hi)
    assert slow == max(lo, current // 2)


@given(
    lo=st.integers(min_value=0, max_value=10),
    span=st.integers(min_value=0, max_value=50),
    data=st.data(),
    wait=st.none() | st.floats(min_value=0, max_value=100, **finite),
    in_use=st.integers(min_value=0, max_value=100),
)
def test_pool_size_stays_within_bounds(
    lo: int, span: int, data: st.DataObject, wait: float | None, in_use: int
) -> None:
    """Grow by 2 while checkouts wait, shrink by 1 while half idle, always within [lo, hi]."""
    hi = lo + span
    current = data.draw(st.integers(min_value=lo, max_value=hi))
    new = pool_size(current, wait_p95_ms=wait, peak_in_use=in_use, lo=lo, hi=hi)
    assert lo <= new <= hi
    if wait is not None and wait > 5.0:
        assert new == min(hi, current + 2)


@given(
    memory=st.floats(min_value=0, max_value=100, **finite),
    last=st.none() | st.floats(min_value=0, max_value=1000, **finite),
    now=st.floats(min_value=0, max_value=1000, **finite),
)
def test_should_trim_only_over_the_threshold_and_not_too_often(
    memory: float, last: float | None, now: float
) -> None:
    """Trim when over 80% and the last trim is 10 s old (or none)."""
    expected = memory > 80.0 and (last is None or now - last >= 10.0)
    assert should_trim(memory, last_at=last, now=now) is expected
