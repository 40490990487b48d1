"""Argentina in the metrics: accepted events by province and ART hour, payments by method."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from barberpro.analytics.rows import Prepared
from barberpro.argentina.timezone import to_art
from barberpro.monitoring.metrics import Metrics
from barberpro.monitoring.recorder import RingRecorder
from barberpro.monitoring.windows import Ring

UNKNOWN = "unknown"
#: Payment methods are free-form codes (visa, naranja, rapipago...); past this many distinct ones
#: new codes are counted as "other" so the label stays bounded.
MAX_PAYMENT_METHODS = 64
#: Sessions whose province is remembered for their later events (about 10 MB at most).
MAX_SESSIONS = 100_000


class ArgentinaCounters(RingRecorder):
    """Counts the analytics ingestion path; called by the router after an event is stored."""

    def __init__(
        self, *, ring: Ring, metrics: Metrics, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(ring=ring, metrics=metrics, clock=clock)
        self._hour_cache: tuple[int, str] = (-1, "")
        self._province_children: dict[tuple[str, str], Any] = {}
        self._payment_children: dict[tuple[str, str], Any] = {}
        # session id -> province of the sessions seen starting here, newest last
        self._session_provinces: OrderedDict[str, str] = OrderedDict()

    def _hour_art(self) -> str:
        now = self._clock()
        hour_id = int(now // 3600)
        cached_id, label = self._hour_cache
        if cached_id != hour_id:
            label = f"{to_art(datetime.fromtimestamp(now, UTC)).hour:02d}"
            self._hour_cache = (hour_id, label)
        return label

    def record_request(self, province: str | None) -> None:
        """Count one accepted event from ``province`` (an ISO code; None counts as unknown)."""
        province = province or UNKNOWN
        key = (province, self._hour_art())
        child = self._province_children.get(key)
        if child is None:
            child = self._province_children[key] = self._metrics.requests_by_province.labels(
                province=key[0], hour_art=key[1]
            )
        child.inc()
        self._ring.add(("province", province))

    def record_payment(self, method: str | None, status: str | None) -> None:
        """Count one accepted payment event by method and MercadoPago status."""
        key = (method or UNKNOWN, status or UNKNOWN)
        child = self._payment_children.get(key)
        if child is None and len({m for m, _ in self._payment_children}) >= MAX_PAYMENT_METHODS:
            key = ("other", key[1])
            child = self._payment_children.get(key)
        if child is None:
            child = self._payment_children[key] = self._metrics.payments_by_method.labels(
                payment_method=key[0], status=key[1]
            )
        child.inc()
        self._ring.add(("payment", key[0], key[1]))

    def observe(self, prepared: Prepared) -> None:
        """Count a newly stored event (the analytics router calls this; duplicates are not).

        An event without a province (actions and funnel steps mostly) counts in its session's,
        as this process saw it start: a session started on another instance counts unknown.
        """
        row = prepared.row
        province = row.get("province")
        session = row.get("session_id")
        if prepared.kind == "session":
            if session is not None and province:
                self._session_provinces[session] = province
                while len(self._session_provinces) > MAX_SESSIONS:
                    self._session_provinces.popitem(last=False)
        elif not province and session is not None:
            province = self._session_provinces.get(session)
        self.record_request(province)
        if row.get("type") == "revenue":
            self.record_payment(row.get("payment_method"), row.get("status"))
