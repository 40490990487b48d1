"""Silences and the transition history in the database (tables alert_silences, alert_history)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.alerts.silences import Matcher, Silence
from barberpro.argentina.timezone import micros_to_seconds, seconds_to_micros
from barberpro.db.tables import alert_history, alert_silences

__all__ = [
    "HistoryEntry",
    "add_silence",
    "expire_silence",
    "get_silence",
    "history",
    "latest",
    "live_silences",
    "record",
]

_us = seconds_to_micros
_s = micros_to_seconds


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded change of phase of one alert."""

    at: float
    fingerprint: str
    alertname: str
    severity: str
    before: str
    after: str
    value: float | None
    labels: Mapping[str, str]
    silenced: bool
    inhibited: bool
    notified: bool


def _silence_from_row(row: Any) -> Silence:
    return Silence(
        id=row.silence_id,
        matchers=tuple(
            Matcher(name=m["name"], value=m["value"], op=m["op"])
            for m in orjson.loads(row.matchers)
        ),
        starts_at=_s(row.starts_at),
        ends_at=_s(row.ends_at),
        created_by=row.created_by,
        comment=row.comment,
        created_at=_s(row.created_at),
    )


async def add_silence(engine: AsyncEngine, silence: Silence) -> None:
    """Store a new silence."""
    matchers = [{"name": m.name, "value": m.value, "op": m.op} for m in silence.matchers]
    async with engine.begin() as conn:
        await conn.execute(
            insert(alert_silences).values(
                silence_id=silence.id,
                matchers=orjson.dumps(matchers).decode(),
                starts_at=_us(silence.starts_at),
                ends_at=_us(silence.ends_at),
                created_by=silence.created_by,
                comment=silence.comment,
                created_at=_us(silence.created_at),
            )
        )


async def get_silence(engine: AsyncEngine, silence_id: str) -> Silence | None:
    """Return the silence with ``silence_id``, None when there is none."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(alert_silences).where(alert_silences.c.silence_id == silence_id)
            )
        ).first()
    return None if row is None else _silence_from_row(row)


async def expire_silence(engine: AsyncEngine, silence_id: str, *, now: float) -> Silence | None:
    """End the silence at ``now`` (when still in force); None when there is no such silence."""
    async with engine.begin() as conn:
        await conn.execute(
            update(alert_silences)
            .where(alert_silences.c.silence_id == silence_id, alert_silences.c.ends_at > _us(now))
            .values(ends_at=_us(now))
        )
    return await get_silence(engine, silence_id)


async def live_silences(engine: AsyncEngine, *, now: float) -> list[Silence]:
    """Return the silences not yet expired at ``now`` (active or starting later), oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(alert_silences)
            .where(alert_silences.c.ends_at > _us(now))
            .order_by(alert_silences.c.created_at, alert_silences.c.silence_id)
        )
        return [_silence_from_row(row) for row in rows]


async def record(engine: AsyncEngine, entries: Sequence[HistoryEntry]) -> None:
    """Append transitions to the history, in one transaction."""
    if not entries:
        return
    async with engine.begin() as conn:
        await conn.execute(
            insert(alert_history),
            [
                {
                    "at": _us(e.at),
                    "fingerprint": e.fingerprint,
                    "alertname": e.alertname,
                    "severity": e.severity,
                    "before": e.before,
                    "after": e.after,
                    "value": e.value,
                    "labels": orjson.dumps(dict(e.labels), option=orjson.OPT_SORT_KEYS).decode(),
                    "silenced": e.silenced,
                    "inhibited": e.inhibited,
                    "notified": e.notified,
                }
                for e in entries
            ],
        )


async def history(
    engine: AsyncEngine,
    *,
    limit: int = 50,
    since: float | None = None,
    until: float | None = None,
) -> list[HistoryEntry]:
    """Return the newest transitions first, at most ``limit``, optionally in [since, until)."""
    query = select(alert_history).order_by(alert_history.c.at.desc(), alert_history.c.id.desc())
    if since is not None:
        query = query.where(alert_history.c.at >= _us(since))
    if until is not None:
        query = query.where(alert_history.c.at < _us(until))
    async with engine.connect() as conn:
        rows = await conn.execute(query.limit(limit))
        return [_entry_from_row(row) for row in rows]


async def latest(
    engine: AsyncEngine, fingerprints: Sequence[str], *, per_alert: int = 2
) -> dict[str, list[HistoryEntry]]:
    """Return the newest ``per_alert`` transitions of each alert, newest first."""
    found: dict[str, list[HistoryEntry]] = {}
    async with engine.connect() as conn:
        for fingerprint in fingerprints:
            query = (
                select(alert_history)
                .where(alert_history.c.fingerprint == fingerprint)
                .order_by(alert_history.c.at.desc(), alert_history.c.id.desc())
                .limit(per_alert)
            )
            entries = [_entry_from_row(row) for row in await conn.execute(query)]
            if entries:
                found[fingerprint] = entries
    return found


def _entry_from_row(row: Any) -> HistoryEntry:
    return HistoryEntry(
        at=_s(row.at),
        fingerprint=row.fingerprint,
        alertname=row.alertname,
        severity=row.severity,
        before=row.before,
        after=row.after,
        value=row.value,
        labels=orjson.loads(row.labels),
        silenced=bool(row.silenced),
        inhibited=bool(row.inhibited),
        notified=bool(row.notified),
    )
