"""The optimization engine over HTTP (admin token)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from barberpro.api.auth import Role, TokenAuth
from barberpro.api.errors import ApiError
from barberpro.api.responses import JSON
from barberpro.argentina.timezone import iso_utc
from barberpro.optimization import advisor, answers, audit
from barberpro.optimization.cache import CACHEABLE
from barberpro.optimization.engine import Optimizer
from barberpro.optimization.errors import ErrorGroups
from barberpro.optimization.state import Emergency


class EmergencyBody(BaseModel):
    """POST /optimization/emergency."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        description="true forces emergency mode on; false turns it off and "
        "gives the decision back to the engine"
    )
    reason: str = Field(min_length=1, max_length=500, description="Why, for the audit log.")
    stage: Literal[1, 2] = Field(default=2, description="The stage forced on (default 2).")


class CacheBody(BaseModel):
    """PUT or DELETE /optimization/cache/{route}."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="set by a person", min_length=1, max_length=500)


def _route(route: str) -> str:
    path = "/" + route.lstrip("/")
    if path not in CACHEABLE:
        raise ApiError(
            404,
            "not_cacheable",
            f"{path} is not a cacheable route: one of {', '.join(sorted(CACHEABLE))}",
            fields=[{"field": "route", "reason": "not a cacheable route", "type": "value_error"}],
        )
    return path


def build_router(
    optimizer: Optimizer,
    auth: TokenAuth,
    *,
    slowest: Callable[[], Awaitable[list[dict[str, Any]]]],
    errors: ErrorGroups,
) -> APIRouter:
    """Return the engine's routes, mounted under ``/api/v1``."""
    router = APIRouter(prefix="/optimization", tags=["optimization"])
    admin = Depends(auth.admin)

    @router.get(
        "/status",
        summary="The optimization engine's state",
        response_model=answers.OptimizationStatus,
    )
    async def status(_role: Role = admin) -> JSON:
        """Leadership, dry run, emergency mode and the pressure behind it, the concurrency
        limit, each cacheable route's cache, the cache lifetime, auto-healing."""
        return JSON(optimizer.status())

    @router.get(
        "/actions",
        summary="The engine's audited actions, newest first",
        response_model=answers.OptimizationActions,
    )
    async def actions(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        kind: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
        _role: Role = admin,
    ) -> JSON:
        """What triggered each action, what was done, the same signals after the settling
        period and the verdict (kept, or rolled back saying by how much)."""
        return JSON({"actions": await audit.listed(optimizer.db, limit=limit, kind=kind)})

    @router.get(
        "/index-suggestions",
        summary="Index advice checked by the planner",
        response_model=answers.IndexAdvice,
    )
    async def index_suggestions(_role: Role = admin) -> JSON:
        """Proposals from the slowest query shapes of the last 15 minutes, each with the plan or
        cost before and after and the write cost of its table."""
        statements = await slowest()
        found = await advisor.advise(optimizer.db, statements)
        return JSON(
            {
                "dialect": optimizer.db.dialect.name,
                "statements": len(statements),
                "suggestions": found,
            }
        )

    @router.put(
        "/cache/{route:path}",
        summary="Turn a route's cache on",
        response_model=answers.RouteCacheToggle,
    )
    async def cache_on(route: str, body: CacheBody | None = None, _role: Role = admin) -> JSON:
        """For every instance; the engine leaves a route a person set alone."""
        return JSON(await _set_cache(optimizer, route, body, enabled=True))

    @router.delete(
        "/cache/{route:path}",
        summary="Turn a route's cache off and empty it",
        response_model=answers.RouteCacheToggle,
    )
    async def cache_off(route: str, body: CacheBody | None = None, _role: Role = admin) -> JSON:
        """For every instance."""
        return JSON(await _set_cache(optimizer, route, body, enabled=False))

    @router.post(
        "/emergency",
        summary="Force emergency mode on or off",
        response_model=answers.EmergencyToggle,
    )
    async def emergency(body: EmergencyBody, _role: Role = admin) -> JSON:
        """On: the stage is held until turned off. Off: stage 0, and the engine decides again
        (it enters only after 3 windows over the threshold)."""
        now = optimizer.clock()
        stage = body.stage if body.enabled else 0
        state = Emergency(stage=stage, forced=body.enabled, reason=body.reason, since=now, by="api")
        await optimizer.toggles.set_emergency(state)
        optimizer.emergency = type(optimizer.emergency)(stage=stage, since=now)
        await audit.record(
            optimizer.db,
            audit.Action(
                kind="emergency",
                target="service",
                move=f"forced_stage_{stage}" if body.enabled else "released",
                reason=body.reason,
                trigger=optimizer.last_pressure,
                decided_by="api",
            ),
            now=now,
            settle_at=None,
        )
        return JSON({**state.as_dict(), "since": iso_utc(state.since)})

    @router.get(
        "/errors",
        summary="Unhandled errors grouped, with a suggested action",
        response_model=answers.UnhandledErrors,
    )
    async def grouped_errors(_role: Role = admin) -> JSON:
        """This process's errors by route, exception type and in-app frames."""
        return JSON({"groups": errors.answer()})

    return router


async def _set_cache(
    optimizer: Optimizer, route: str, body: CacheBody | None, *, enabled: bool
) -> dict[str, Any]:
    """A person's cache toggle: set for every instance, emptied when off, audited."""
    path = _route(route)
    reason = body.reason if body else "set by a person"
    toggle = await optimizer.toggles.set_cache(path, enabled=enabled, by="api", reason=reason)
    if not enabled:
        await optimizer.cache.clear(path)
    await _audited(optimizer, path, "enable" if enabled else "disable", reason)
    return {"route": path, **toggle.as_dict(), "since": iso_utc(toggle.since)}


async def _audited(optimizer: Optimizer, route: str, move: str, reason: str) -> None:
    await audit.record(
        optimizer.db,
        audit.Action(
            kind="route_cache", target=route, move=move, reason=reason, trigger={}, decided_by="api"
        ),
        now=optimizer.clock(),
        settle_at=None,
    )
