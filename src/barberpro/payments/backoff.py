"""Exponential backoff with jitter: a pure function, randomness injected, so it can be proven."""

from __future__ import annotations

from collections.abc import Callable


def backoff_delay(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    rand: Callable[[], float],
    retry_after_s: float | None = None,
) -> float:
    """Return the wait before retry number ``attempt`` (1 = the first retry), in seconds.

    Equal jitter: the exponential step ``min(cap, base * 2**(attempt-1))`` is halved and the
    other half drawn at random, so the wait lies in ``[step/2, step]``; it always grows on
    average yet several clients never retry in lockstep. A server's ``Retry-After`` is a floor:
    the wait is never shorter than what the server asked for (even above the cap).
    ``rand`` returns a float in [0, 1).
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    # 2**attempt overflows a float past ~1024; the cap is reached long before.
    step = min(cap_s, base_s * 2.0 ** min(attempt - 1, 64))
    delay = step / 2 + step / 2 * min(max(rand(), 0.0), 1.0)
    if retry_after_s is not None and retry_after_s > delay:
        return retry_after_s
    return delay
