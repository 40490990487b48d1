"""The audit log of the optimization engine (`optimization_actions`): record, judge, list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.argentina.timezone import iso_utc
from barberpro.db.tables import optimization_actions as actions

_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Action:
    """One decision of the engine (or of a person through the API)."""

    kind: str
    target: str
    move: str
    reason: str
    trigger: dict[str, Any]
    decided_by: str
    dry_run: bool = False


def _us(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * _US)


async def record(
    engine: AsyncEngine, action: Action, *, now: float, settle_at: float | None
) -> str:
    """Write ``action``; return its id. ``settle_at`` None: nothing to judge later."""
    action_id = str(uuid.uuid4())
    state = "recorded" if action.dry_run else ("measuring" if settle_at is not None else "done")
    async with engine.begin() as conn:
        await conn.execute(
            actions.insert().values(
                action_id=action_id,
                kind=action.kind,
                target=action.target,
                move=action.move,
                decided_at=_us(now),
                decided_by=action.decided_by,
                reason=action.reason,
                trigger=orjson.dumps(action.trigger).decode(),
                dry_run=action.dry_run,
                state=state,
                settle_at=_us(settle_at) if not action.dry_run else None,
            )
        )
    return action_id


async def due(engine: AsyncEngine, *, now: float) -> list[dict[str, Any]]:
    """Return the actions being measured whose settling period is over."""
    query = select(actions).where(actions.c.state == "measuring", actions.c.settle_at <= _us(now))
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]


async def judged(
    engine: AsyncEngine,
    action_id: str,
    *,
    state: str,
    after: dict[str, Any],
    reason: str,
    change: float | None,
    cooldown_until: float | None,
    now: float,
) -> None:
    """Complete an action with its after-measurement and verdict."""
    async with engine.begin() as conn:
        await conn.execute(
            update(actions)
            .where(actions.c.action_id == action_id)
            .values(
                state=state,
                after=orjson.dumps(after).decode(),
                verdict_reason=reason,
                change=change,
                cooldown_until=_us(cooldown_until),
                judged_at=_us(now),
            )
        )


async def cooldowns(engine: AsyncEngine, *, now: float) -> dict[tuple[str, str], float]:
    """Return (kind, target) -> until when each rolled-back action is not retried."""
    query = select(actions.c.kind, actions.c.target, actions.c.cooldown_until).where(
        actions.c.state == "rolled_back", actions.c.cooldown_until > _us(now)
    )
    async with engine.connect() as conn:
        found: dict[tuple[str, str], float] = {}
        for row in await conn.execute(query):
            key = (row.kind, row.target)
            found[key] = max(found.get(key, 0.0), row.cooldown_until / _US)
        return found


def _answer(row: Any) -> dict[str, Any]:
    return {
        "action_id": row.action_id,
        "kind": row.kind,
        "target": row.target,
        "move": row.move,
        "decided_at": iso_utc(row.decided_at / _US),
        "decided_by": row.decided_by,
        "reason": row.reason,
        "trigger": orjson.loads(row.trigger),
        "dry_run": row.dry_run,
        "state": row.state,
        "settle_at": iso_utc(row.settle_at / _US) if row.settle_at is not None else None,
        "after": orjson.loads(row.after) if row.after else None,
        "verdict_reason": row.verdict_reason,
        "change": row.change,
        "cooldown_until": iso_utc(row.cooldown_until / _US) if row.cooldown_until else None,
        "judged_at": iso_utc(row.judged_at / _US) if row.judged_at else None,
    }


async def listed(
    engine: AsyncEngine,
    *,
    limit: int = 100,
    kind: str | None = None,
    since: float | None = None,
    until: float | None = None,
) -> list[dict[str, Any]]:
    """Return the newest actions first (decided in [since, until) when given)."""
    query = select(actions).order_by(actions.c.decided_at.desc()).limit(limit)
    if kind is not None:
        query = query.where(actions.c.kind == kind)
    if since is not None:
        query = query.where(actions.c.decided_at >= _us(since))
    if until is not None:
        query = query.where(actions.c.decided_at < _us(until))
    async with engine.connect() as conn:
        return [_answer(row) for row in await conn.execute(query)]


async def counts(engine: AsyncEngine, *, since: float, until: float) -> dict[str, dict[str, int]]:
    """Return the actions decided in [since, until) counted by kind and by state (all of them,
    however many a listing would show)."""
    found: dict[str, dict[str, int]] = {"by_kind": {}, "by_state": {}}
    async with engine.connect() as conn:
        for name, column in (("by_kind", actions.c.kind), ("by_state", actions.c.state)):
            query = (
                select(column, func.count())
                .where(actions.c.decided_at >= _us(since), actions.c.decided_at < _us(until))
                .group_by(column)
                .order_by(column)
            )
            found[name] = {str(value): int(n) for value, n in await conn.execute(query)}
    return found
