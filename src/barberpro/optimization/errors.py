"""Unhandled errors grouped by route, exception type and in-app frames, with a suggested action.

Two errors are the same group when they come from the same route and exception type through the
same frames of this package (file and function, innermost three): the same bug, however many
times it fires. The message is kept short and only the latest; groups are bounded.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from barberpro.argentina.timezone import iso_utc

MAX_GROUPS = 200
_PACKAGE = "/barberpro/"

_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "OperationalError",
            "InterfaceError",
            "ConnectionRefusedError",
            "ConnectionDoesNotExist",
            "CannotConnectNowError",
        ),
        "the database connection failed: the engine disposes the pool and reconnects; check the "
        "database server and the pool size",
    ),
    (
        ("TimeoutError", "QueryCanceledError", "PoolTimeout"),
        "an operation timed out: look at the route's slowest queries (index suggestions) or cache "
        "the route",
    ),
    (
        ("IntegrityError", "UniqueViolationError"),
        "a constraint refused a write: the input should have been answered 4xx, not 500",
    ),
    (("MemoryError",), "memory ran out: lower batch sizes and report ranges"),
    (
        ("KeyError", "IndexError", "AttributeError", "TypeError", "ValueError", "AssertionError"),
        "a bug in the frames shown: fix the code and add a test with the failing input",
    ),
)


def suggestion(exception_type: str) -> str:
    """Return what to do about an exception of this type."""
    for names, advice in _ADVICE:
        if exception_type in names:
            return advice
    return "unexpected: read the frames and the latest message"


@dataclass(slots=True)
class Group:
    """One kind of failure."""

    route: str
    exception: str
    frames: tuple[str, ...]
    count: int
    first_at: float
    last_at: float
    message: str


class ErrorGroups:
    """This process's error groups."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._groups: dict[tuple[str, str, tuple[str, ...]], Group] = {}

    def record(self, route: str, exc: BaseException) -> None:
        """Count ``exc`` raised while answering ``route``."""
        frames = tuple(
            f"{frame.filename.rsplit(_PACKAGE, 1)[-1]}:{frame.name}"
            for frame in traceback.extract_tb(exc.__traceback__)
            if _PACKAGE in frame.filename
        )[-3:]
        name = type(exc).__name__
        key = (route, name, frames)
        now = self._clock()
        found = self._groups.get(key)
        if found is None:
            if len(self._groups) >= MAX_GROUPS:
                oldest = min(self._groups, key=lambda k: self._groups[k].last_at)
                del self._groups[oldest]
            found = self._groups[key] = Group(route, name, frames, 0, now, now, "")
        found.count += 1
        found.last_at = now
        found.message = str(exc)[:200]

    def answer(self) -> list[dict[str, Any]]:
        """Return the groups, most frequent first."""
        return [
            {
                "route": g.route,
                "exception": g.exception,
                "frames": list(g.frames),
                "count": g.count,
                "first_at": iso_utc(g.first_at),
                "last_at": iso_utc(g.last_at),
                "latest_message": g.message,
                "suggested_action": suggestion(g.exception),
            }
            for g in sorted(self._groups.values(), key=lambda g: (-g.count, -g.last_at))
        ]
