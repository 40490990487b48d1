"""HTTP routes of the alerts: the active alerts and history, and silences (admin token)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from barberpro.alerts import answers
from barberpro.alerts.service import Alerts
from barberpro.alerts.silences import Matcher, MatchOp
from barberpro.api.auth import TokenAuth
from barberpro.api.errors import ApiError
from barberpro.api.responses import JSON
from barberpro.api.text import storable

__all__ = ["SilenceIn", "build_router"]

# A silence longer than this is almost always a typo in ends_at (or a way to forget an alert).
MAX_SILENCE_DAYS = 30


class MatcherIn(BaseModel):
    """One label matcher: ``name op value``, op one of =, !=, =~, !~."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    op: MatchOp = "="
    value: str = Field(max_length=256)

    @field_validator("value")
    @classmethod
    def _regex_compiles(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("op") in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return storable(value)


class SilenceIn(BaseModel):
    """A new silence: matchers, an end (``ends_at`` or ``duration_s``), who and why."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherIn] = Field(min_length=1, max_length=16)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration_s: float | None = Field(default=None, gt=0, le=MAX_SILENCE_DAYS * 86_400)
    created_by: str = Field(min_length=1, max_length=128)
    comment: str = Field(min_length=1, max_length=2000)

    @field_validator("created_by", "comment")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return storable(value.strip())

    @field_validator("ends_at")
    @classmethod
    def _ends_in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("must be in the future")
        return value

    @model_validator(mode="after")
    def _one_end(self) -> SilenceIn:
        if (self.ends_at is None) == (self.duration_s is None):
            raise ValueError("give exactly one of ends_at and duration_s")
        return self


def _end_errors(body: SilenceIn, now: float) -> list[dict[str, Any]]:
    """Check the end against the start, which needs both fields and the clock."""
    start = body.starts_at.timestamp() if body.starts_at is not None else now
    if body.ends_at is None:
        assert body.duration_s is not None  # one of the two, by the model's validator
        if start + body.duration_s <= now:
            reason = "starts_at plus duration_s ends in the past: a silence must end later"
            return [{"field": "starts_at", "reason": reason, "type": "value_error"}]
        return []
    if body.ends_at.timestamp() <= now:
        return [{"field": "ends_at", "reason": "must be in the future", "type": "value_error"}]
    if body.ends_at.timestamp() <= start:
        return [{"field": "ends_at", "reason": "must be after starts_at", "type": "value_error"}]
    if body.ends_at.timestamp() - start > MAX_SILENCE_DAYS * 86_400:
        return [
            {
                "field": "ends_at",
                "reason": f"a silence lasts at most {MAX_SILENCE_DAYS} days",
                "type": "value_error",
            }
        ]
    return []


def build_router(alerts: Alerts, auth: TokenAuth) -> APIRouter:
    """Return the routes under ``/monitoring/alerts`` (mount with prefix ``/api/v1``)."""
    router = APIRouter(prefix="/monitoring/alerts", tags=["alerts"])
    admin = [Depends(auth.admin)]

    # The answers are returned as rendered responses, which FastAPI passes through:
    # response_model documents them (tests/api/test_answers.py checks them).
    @router.get(
        "",
        dependencies=admin,
        summary="Active alerts, silences and recent history",
        response_model=answers.Overview,
    )
    async def list_alerts(
        history: Annotated[int, Query(ge=0, le=1000, description="transitions to list")] = 50,
    ) -> JSON:
        """Pending and firing alerts with their flags, live silences, newest transitions."""
        return JSON(await alerts.overview(history_limit=history))

    @router.post(
        "/silences",
        dependencies=admin,
        status_code=201,
        summary="Silence matching alerts",
        response_model=answers.SilenceView,
    )
    async def create_silence(body: SilenceIn) -> JSON:
        """Create a silence; 422 names each bad field."""
        now = alerts.clock()
        problems = _end_errors(body, now)
        if problems:
            names = ", ".join(p["field"] for p in problems)
            raise ApiError(422, "invalid_request", f"invalid fields: {names}", fields=problems)
        starts_at = body.starts_at.timestamp() if body.starts_at is not None else now
        if body.ends_at is not None:
            ends_at = body.ends_at.timestamp()
        else:
            assert body.duration_s is not None  # _one_end guarantees it
            ends_at = starts_at + body.duration_s
        silence = await alerts.add_silence(
            matchers=[Matcher(name=m.name, value=m.value, op=m.op) for m in body.matchers],
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=body.created_by,
            comment=body.comment,
        )
        return JSON(alerts.silence_view(silence), status_code=201)

    @router.delete(
        "/silences/{silence_id}",
        dependencies=admin,
        status_code=204,
        summary="Expire a silence now",
    )
    async def delete_silence(silence_id: str) -> Response:
        """Expire the silence (kept in the database as expired); 404 when unknown."""
        if await alerts.expire_silence(silence_id) is None:
            raise ApiError(404, "not_found", f"no silence with id {silence_id!r}")
        return Response(status_code=204)

    return router
