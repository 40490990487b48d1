"""Sliding windows: a ring of 10-second slots, each a map from series key to :class:`Stat`.

A slot is named by ``int(wall_time // SLOT_S)``, so slots from different processes and hosts
line up and merge by adding. The 1, 5 and 15 minute windows are the newest 6, 30 and 90 slots
(the newest one still filling), merged. Recording touches only the newest slot: a dict lookup
and a few additions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from barberpro.monitoring.histogram import LATENCY_EDGES_MS, SESSION_EDGES_S, Stat

SLOT_S = 10
KEEP_S = 15 * 60
WINDOWS_S: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900}

#: A series key: its kind first, then its labels, e.g. ("http", "/api/v1/x", "GET", "2xx").
Key = tuple[str, ...]

#: Bucket edges by series kind; kinds not listed record counts only and use latency edges.
EDGES_BY_KIND: dict[str, Sequence[float]] = {"ws_session": SESSION_EDGES_S}

#: Most distinct keys one slot takes; past it new keys fold into (kind, "<other>") so a flood of
#: distinct SQL texts or report labels cannot grow memory without bound. HTTP keys are exempt:
#: they are bounded by the routes, and the cumulative Prometheus counters are folded from them.
MAX_KEYS_PER_SLOT = 2000


def edges_for(kind: str) -> Sequence[float]:
    """Return the bucket edges series of ``kind`` use."""
    return EDGES_BY_KIND.get(kind, LATENCY_EDGES_MS)


def slot_of(wall: float) -> int:
    """Return the slot number holding wall time ``wall`` (seconds since the epoch)."""
    return int(wall // SLOT_S)


def slots_for(window_s: float) -> int:
    """Return how many slots, the filling one included, a trailing window covers."""
    return max(1, int(-(-window_s // SLOT_S)))


class Ring:
    """This process's slots for the last 15 minutes."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._slot = slot_of(clock())
        self._current: dict[Key, Stat] = {}
        self._closed: deque[tuple[int, dict[Key, Stat]]] = deque()
        self._on_close: list[Callable[[Mapping[Key, Stat]], None]] = []
        self._on_evict: list[Callable[[int, Mapping[Key, Stat]], None]] = []

    def on_close(self, listener: Callable[[Mapping[Key, Stat]], None]) -> None:
        """Call ``listener`` with each slot's map once the slot is full (no longer written)."""
        self._on_close.append(listener)

    def on_evict(self, listener: Callable[[int, Mapping[Key, Stat]], None]) -> None:
        """Call ``listener`` with (slot, map) as each slot leaves the ring, 15 minutes old.

        From then on nothing changes it (:meth:`retract` reaches kept slots only).
        """
        self._on_evict.append(listener)

    def current(self) -> dict[Key, Stat]:
        """Return the filling slot's map, rotating first when the clock moved past it."""
        slot = int(self._clock() // SLOT_S)
        if slot != self._slot:
            self._rotate(slot)
        return self._current

    def _rotate(self, slot: int) -> None:
        if self._current:
            self._closed.append((self._slot, self._current))
            for listener in self._on_close:
                listener(self._current)
        self._slot = slot
        self._current = {}
        oldest = slot - KEEP_S // SLOT_S
        while self._closed and self._closed[0][0] <= oldest:
            number, series = self._closed.popleft()
            for evicted in self._on_evict:
                evicted(number, series)

    def stat(self, key: Key) -> Stat:
        """Return the filling slot's Stat for ``key``, creating it."""
        # current() inlined: this runs once per request and per query.
        if int(self._clock() // SLOT_S) != self._slot:
            self._rotate(int(self._clock() // SLOT_S))
        current = self._current
        found = current.get(key)
        if found is None:
            if len(current) >= MAX_KEYS_PER_SLOT and key[0] != "http":
                key = (key[0], "<other>")
                found = current.get(key)
                if found is not None:
                    return found
            found = current[key] = Stat(edges_for(key[0]))
        return found

    def record(self, key: Key, value: float, error: bool = False) -> None:
        """Record one observation of ``key`` now."""
        self.stat(key).record(value, error)

    def add(self, key: Key, n: int = 1, errors: int = 0) -> None:
        """Count ``n`` events (``errors`` of them failures) of ``key`` now."""
        self.stat(key).add(n, errors)

    @property
    def slot(self) -> int:
        """The number of the filling slot (rotated to the clock first)."""
        self.current()
        return self._slot

    def retract(self, slot: int, key: Key, *, n: int = 1, errors: int = 0) -> bool:
        """Take back ``n`` counted events (``errors`` failures) of ``key`` from ``slot``.

        For a figure that counts only the latest of several events (a notification's latest
        attempt): the earlier one leaves the slot it was counted in, so every window that holds
        both counts it once. False when the slot is no longer kept or never counted ``key``.
        """
        self.current()
        series = self._current if slot == self._slot else None
        if series is None:
            series = next((found for number, found in self._closed if number == slot), None)
        stat = None if series is None else series.get(key)
        if stat is None or stat.count < n:
            return False
        stat.add(-n, -errors)
        return True

    def slots(self) -> Iterator[tuple[int, Mapping[Key, Stat]]]:
        """Yield (slot, map) for every kept slot, the filling one last."""
        self.current()
        yield from self._closed
        yield self._slot, self._current

    def export(self) -> list[list[Any]]:
        """Return the kept slots as JSON-able lists for other processes (see :func:`load`)."""
        return [
            [slot, [["\x1f".join(key), stat.to_list()] for key, stat in series.items()]]
            for slot, series in self.slots()
            if series
        ]


def load(data: Iterable[Sequence[Any]]) -> list[tuple[int, dict[Key, Stat]]]:
    """Return the slots of :meth:`Ring.export` output."""
    slots: list[tuple[int, dict[Key, Stat]]] = []
    for slot, series in data:
        found: dict[Key, Stat] = {}
        for joined, stat in series:
            key = tuple(joined.split("\x1f"))
            found[key] = Stat.from_list(edges_for(key[0]), stat)
        slots.append((int(slot), found))
    return slots


def window(
    sources: Iterable[Iterable[tuple[int, Mapping[Key, Stat]]]],
    *,
    now: float,
    window_s: float,
    kinds: frozenset[str] | None = None,
) -> dict[Key, Stat]:
    """Return every key's Stat summed over the trailing window, across all ``sources``.

    ``kinds`` keeps only keys of those kinds (cheaper when a caller needs one part).
    """
    first = slot_of(now) - slots_for(window_s) + 1
    total: dict[Key, Stat] = {}
    for source in sources:
        for slot, series in source:
            if slot < first:
                continue
            for key, stat in series.items():
                if kinds is not None and key[0] not in kinds:
                    continue
                into = total.get(key)
                if into is None:
                    into = total[key] = Stat(stat.edges)
                into.merge(stat)
    return total


def covered_seconds(*, now: float, window_s: float, since: float) -> float:
    """Return the seconds a window really spans: from its first slot or ``since``, to ``now``."""
    start = (slot_of(now) - slots_for(window_s) + 1) * SLOT_S
    return max(now - max(start, since), 1e-9)
