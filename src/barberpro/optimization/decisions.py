"""Every decision of the optimization engine, as pure functions of the signals and the clock.

Nothing here reads a clock, a socket or a random source: the engine passes ``now`` and the
measurements in, and applies what comes back. That keeps each rule testable under Hypothesis,
hysteresis included (a signal oscillating around a threshold changes nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum


class Move(StrEnum):
    """What a decision asks for."""

    HOLD = "hold"
    ENABLE = "enable"
    DISABLE = "disable"


# -- route caching -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheLimits:
    """When a cacheable route's cache goes on and off."""

    slow_p95_ms: float = 150.0  # the WARNING threshold: slower than this, cache it
    fast_p95_ms: float = 50.0  # computed this fast, the route needs no cache
    min_requests: int = 20  # requests in the window before anything is decided
    min_hit_rate: float = 0.2  # a cache serving fewer of its lookups than this goes off
    min_on_s: float = 60.0  # a cache stays on at least this long before it may go off


@dataclass(frozen=True, slots=True)
class RouteWindow:
    """One cacheable route over the engine's window."""

    requests: int
    p95_ms: float | None  # of every answer
    computed: int  # answers computed (misses), cache on or off
    computed_p95_ms: float | None  # of the computed answers only: the route without its cache
    hits: int  # answers served from the cache (HIT and STALE)


def cache_move(
    window: RouteWindow,
    *,
    enabled: bool,
    since: float,
    cooldown_until: float,
    now: float,
    limits: CacheLimits,
) -> tuple[Move, str]:
    """Return whether to turn a route's cache on or off, and why."""
    if window.requests < limits.min_requests:
        return Move.HOLD, f"{window.requests} requests, fewer than {limits.min_requests}"
    if not enabled:
        if now < cooldown_until:
            return Move.HOLD, f"rolled back earlier: cooling down for {cooldown_until - now:.0f} s"
        if window.p95_ms is not None and window.p95_ms > limits.slow_p95_ms:
            return (
                Move.ENABLE,
                f"p95 {window.p95_ms:.1f} ms over {limits.slow_p95_ms:g} ms on "
                f"{window.requests} requests",
            )
        return Move.HOLD, "fast enough without a cache"
    if now - since < limits.min_on_s:
        return Move.HOLD, f"on for {now - since:.0f} s, less than {limits.min_on_s:g} s"
    lookups = window.hits + window.computed
    hit_rate = window.hits / lookups if lookups else 0.0
    if lookups >= limits.min_requests and hit_rate < limits.min_hit_rate:
        return Move.DISABLE, f"hit rate {hit_rate:.1%} under {limits.min_hit_rate:.0%}"
    if (
        window.computed >= limits.min_requests
        and window.computed_p95_ms is not None
        and window.computed_p95_ms <= limits.fast_p95_ms
    ):
        return (
            Move.DISABLE,
            f"computed in p95 {window.computed_p95_ms:.1f} ms, under {limits.fast_p95_ms:g} ms: "
            "fast without the cache",
        )
    return Move.HOLD, f"hit rate {hit_rate:.1%}"


def adaptive_ttl(base_s: float, invalidations_per_min: float, *, lo: float, hi: float) -> float:
    """Return a cache lifetime: ``hi`` while nothing changes what the route reads, else
    ``base_s / (1 + invalidations per minute)``, within [lo, hi]."""
    if invalidations_per_min <= 0:
        return hi
    return max(lo, min(hi, base_s / (1.0 + invalidations_per_min)))


def xfetch_due(*, now: float, expiry: float, delta_s: float, beta: float, rand: float) -> bool:
    """XFetch (Vattani et al.): recompute early when ``now - delta * beta * ln(rand) >= expiry``.

    ``rand`` is uniform in (0, 1]; ``delta_s`` the measured time to compute the value. The
    longer a value takes and the nearer its expiry, the likelier one caller recomputes it
    before it expires, so no stampede waits for it.
    """
    return now - delta_s * beta * math.log(max(rand, 1e-12)) >= expiry


# -- judging an action -------------------------------------------------------------------------


class Verdict(StrEnum):
    """What the settling measurement says of an action."""

    KEPT = "kept"
    ROLLED_BACK = "rolled_back"
    WAITING = "waiting"  # the window after did not hold the minimum sample yet


@dataclass(frozen=True, slots=True)
class Measure:
    """A p95 over a window, and the sample behind it."""

    p95_ms: float | None
    count: int


def judge(
    before: Measure, after: Measure, *, min_samples: int, required_gain: float
) -> tuple[Verdict, str, float | None]:
    """Return the verdict on an action, why, and the relative change of the p95.

    Kept when the p95 fell by at least ``required_gain`` (0.1: 10%); otherwise rolled back,
    saying by how much it moved. ``WAITING`` until the window after holds ``min_samples``.
    """
    if after.count < min_samples or after.p95_ms is None:
        return Verdict.WAITING, f"{after.count} samples after, fewer than {min_samples}", None
    if before.p95_ms is None or before.p95_ms <= 0:
        return Verdict.KEPT, f"p95 {after.p95_ms:.1f} ms after; nothing measured before", None
    change = (after.p95_ms - before.p95_ms) / before.p95_ms
    moved = f"p95 {before.p95_ms:.1f} -> {after.p95_ms:.1f} ms ({change:+.1%})"
    if change <= -required_gain:
        return Verdict.KEPT, f"{moved}: better", change
    if change > 0:
        return Verdict.ROLLED_BACK, f"{moved}: worse", change
    return Verdict.ROLLED_BACK, f"{moved}: less than the {required_gain:.0%} it must gain", change


# -- emergency mode ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PressureLimits:
    """Each signal's target; pressure is the largest signal / target ratio."""

    lag_target_ms: float = 50.0
    memory_percent: float = 80.0
    p95_critical_ms: float = 200.0


def pressure(
    *,
    saturation: float,
    lag_ms: float,
    memory_percent: float,
    p95_ms: float | None,
    limits: PressureLimits,
) -> tuple[float, str]:
    """Return the pressure (1.0 is a signal at its threshold) and the signal that sets it."""
    parts = {
        "concurrency_saturation": saturation,
        "event_loop_lag": lag_ms / limits.lag_target_ms,
        "memory": memory_percent / limits.memory_percent,
        "p95": (p95_ms or 0.0) / limits.p95_critical_ms,
    }
    name = max(parts, key=lambda k: parts[k])
    return parts[name], name


@dataclass(frozen=True, slots=True)
class StageLimits:
    """Entry and exit of each stage, as Envoy's overload manager scales a trigger."""

    enter: tuple[float, float] = (1.0, 1.5)  # pressure to enter stage 1 and stage 2
    leave: tuple[float, float] = (0.8, 1.2)  # pressure to stay under to leave them
    windows_to_enter: int = 3
    recovery_s: float = 60.0


@dataclass(frozen=True, slots=True)
class EmergencyState:
    """Where emergency mode stands; ``forced`` (None, or True/False) overrides the signals."""

    stage: int = 0
    over: int = 0  # consecutive windows at or over the next stage's entry
    reach: int = 0  # the highest stage whose entry every one of those windows met
    under_since: float | None = None  # since when the pressure is under the stage's exit
    forced: bool | None = None
    since: float = 0.0


def emergency_step(
    state: EmergencyState, load: float, *, now: float, limits: StageLimits
) -> EmergencyState:
    """Return the state after one window of pressure ``load``.

    A stage is entered after ``windows_to_enter`` consecutive windows over its entry, and left
    only after ``recovery_s`` continuously under its exit (set below the entry): a signal
    oscillating around a threshold changes nothing. A forced state is kept as it is.
    """
    if state.forced is not None:
        return state
    stage = state.stage
    target = next((i + 1 for i in (1, 0) if load >= limits.enter[i]), 0)
    if target > stage:
        over = state.over + 1
        reach = target if state.over == 0 else min(state.reach, target)
        if over >= limits.windows_to_enter:
            return EmergencyState(stage=reach, since=now)
        return replace(state, over=over, reach=reach, under_since=None)
    state = replace(state, over=0)
    if stage == 0:
        return state
    if load >= limits.leave[stage - 1]:
        return replace(state, under_since=None)
    under_since = state.under_since if state.under_since is not None else now
    if now - under_since >= limits.recovery_s:
        return EmergencyState(stage=stage - 1, since=now)
    return replace(state, under_since=under_since)


def gradient2(
    limit: float,
    *,
    short_rtt: float,
    long_rtt: float,
    queue: float,
    lo: float,
    hi: float,
    tolerance: float = 1.5,
    smoothing: float = 0.2,
) -> float:
    """Netflix's Gradient2 concurrency limit: ``gradient = clamp(tolerance * long / short, 0.5,
    1)``, ``limit = (1 - smoothing) * limit + smoothing * (gradient * limit + queue)``."""
    if short_rtt <= 0 or long_rtt <= 0:
        return min(hi, max(lo, limit))
    gradient = max(0.5, min(1.0, tolerance * long_rtt / short_rtt))
    new = (1 - smoothing) * limit + smoothing * (gradient * limit + queue)
    return min(hi, max(lo, new))


# -- auto-healing ------------------------------------------------------------------------------


def aimd(
    concurrency: int,
    *,
    latency_ms: float | None,
    throttled: bool,
    target_ms: float,
    lo: int,
    hi: int,
) -> int:
    """Additive increase, multiplicative decrease: halve on 429s or a latency over target,
    else add one, within [lo, hi]."""
    if throttled or (latency_ms is not None and latency_ms > target_ms):
        return max(lo, concurrency // 2)
    return min(hi, concurrency + 1)


def pool_size(
    current: int, *, wait_p95_ms: float | None, peak_in_use: int, lo: int, hi: int
) -> int:
    """Grow the pool by 2 while checkouts wait (p95 over 5 ms); shrink by 1 while its peak use
    stays under half of it; within [lo, hi]."""
    if wait_p95_ms is not None and wait_p95_ms > 5.0:
        return min(hi, current + 2)
    if peak_in_use < current / 2:
        return max(lo, current - 1)
    return current


def should_trim(
    memory_percent: float,
    *,
    last_at: float | None,
    now: float,
    threshold: float = 80.0,
    every_s: float = 10.0,
) -> bool:
    """Return True when memory is over ``threshold`` and the last trim is ``every_s`` old."""
    return memory_percent > threshold and (last_at is None or now - last_at >= every_s)
