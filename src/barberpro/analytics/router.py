"""The ingestion endpoints of docs/DESIGN.md: validate, prepare, hand to the group-commit writer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from barberpro.analytics import acks, schemas
from barberpro.analytics.ingest import EventWriter, Outcome, WriterUnavailable
from barberpro.analytics.rows import DEFAULT_MAX_PAST, EventTimeError, Prepared, prepare
from barberpro.api.answers import documented
from barberpro.api.auth import Role, TokenAuth
from barberpro.api.body import malformed_json, read_bytes
from barberpro.api.errors import ApiError, field_errors, validation_error
from barberpro.api.openapi import json_body
from barberpro.api.responses import JSON


class Ingestor:
    """Validates bodies and stores them through the writer; shared by the routes."""

    def __init__(
        self,
        *,
        writer: EventWriter,
        max_body_bytes: int,
        max_batch: int,
        max_future: timedelta,
        identity_key: bytes,
        max_past: timedelta = DEFAULT_MAX_PAST,
        observe: Callable[[Prepared], None] | None = None,
    ) -> None:
        self.writer = writer
        # The HMAC key a provider signup's CUIT is stored under (Settings.identity_key).
        self._identity_key = identity_key
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch
        self.max_future = max_future
        self.max_past = max_past
        # Called with each newly stored event (monitoring counts provinces and payments).
        self.observe = observe

    def prepare(
        self, body: schemas._Body, *, now: datetime, sent_at: datetime | None = None
    ) -> Prepared:
        """Return the row of a validated body, or raise the 422 for a time out of range."""
        try:
            return prepare(
                body,
                now=now,
                max_future=self.max_future,
                max_past=self.max_past,
                sent_at=sent_at,
                identity_key=self._identity_key,
            )
        except EventTimeError as exc:
            raise ApiError(
                422,
                "invalid_request",
                f"invalid fields: {exc.field}",
                fields=[{"field": exc.field, "reason": str(exc), "type": exc.kind}],
            ) from exc

    async def store(self, items: list[Prepared]) -> list[Outcome]:
        """Store durably; 503 when the writer cannot take more."""
        try:
            outcomes = await self.writer.submit(items)
        except WriterUnavailable as exc:
            raise ApiError(503, "unavailable", str(exc), headers={"Retry-After": "1"}) from exc
        if self.observe is not None:
            for item, outcome in zip(items, outcomes, strict=True):
                if outcome is Outcome.STORED:
                    self.observe(item)
        return outcomes

    async def one(self, request: Request, model: type[schemas._Body]) -> tuple[Prepared, Outcome]:
        """Read, validate and store a single event."""
        raw = await read_bytes(request, max_bytes=self.max_body_bytes)
        try:
            body = model.model_validate_json(raw)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        prepared = self.prepare(body, now=datetime.now(UTC))
        (outcome,) = await self.store([prepared])
        if outcome is Outcome.CONFLICT:
            raise _conflict(prepared)
        return prepared, outcome

    async def batch(self, request: Request) -> dict[str, Any]:
        """Read a batch; store the good items, answer every item on its own."""
        raw = await read_bytes(request, max_bytes=self.max_body_bytes)
        try:
            batch = schemas.Batch.model_validate_json(raw)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        if len(batch.events) > self.max_batch:
            raise ApiError(
                413,
                "payload_too_large",
                f"a batch holds at most {self.max_batch} events, this one {len(batch.events)}",
                fields=[
                    {
                        "field": "events",
                        "reason": f"more than {self.max_batch} events",
                        "type": "too_long",
                    }
                ],
            )
        now = datetime.now(UTC)
        results: list[dict[str, Any]] = []
        good: list[tuple[int, Prepared]] = []
        for index, item in enumerate(batch.events):
            prefix = ("events", index)
            if not isinstance(item, dict):
                reason = f"each event must be a JSON object, not {type(item).__name__}"
                field = {"field": f"events.{index}", "reason": reason, "type": "dict_type"}
                results.append(_item_error(index, [field]))
                continue
            kind = item.get("type")
            model = schemas.EVENT_MODELS.get(kind) if isinstance(kind, str) else None
            if model is None:
                known = ", ".join(schemas.EVENT_MODELS)
                reason = f"unknown event type {kind!r}: use one of {known}"
                results.append(
                    _item_error(
                        index,
                        [
                            {
                                "field": f"events.{index}.type",
                                "reason": reason,
                                "type": "unknown_type",
                            }
                        ],
                    )
                )
                continue
            try:
                # "type" chose the model; every other unknown field is refused.
                body = model.model_validate({k: v for k, v in item.items() if k != "type"})
                prepared = self.prepare(body, now=now, sent_at=batch.sent_at)
            except ValidationError as exc:
                results.append(
                    _item_error(index, field_errors(exc.errors(include_url=False), prefix=prefix))
                )
                continue
            except ApiError as exc:
                fields = [{**f, "field": f"events.{index}.{f['field']}"} for f in exc.fields]
                results.append(_item_error(index, fields))
                continue
            results.append({})
            good.append((index, prepared))
        outcomes = await self.store([p for _, p in good])
        for (index, prepared), outcome in zip(good, outcomes, strict=True):
            results[index] = _item_result(index, prepared, outcome)
        counts = {
            o: sum(1 for r in results if r["outcome"] == o)
            for o in ("stored", "duplicate", "conflict", "invalid")
        }
        return {
            "accepted": counts["stored"] + counts["duplicate"],
            "stored": counts["stored"],
            "duplicates": counts["duplicate"],
            "rejected": counts["conflict"] + counts["invalid"],
            "results": results,
        }


def _invalid(exc: ValidationError) -> ApiError:
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            return malformed_json(str(error["ctx"].get("error", error["msg"])))
    return validation_error(exc)


def _conflict(prepared: Prepared) -> ApiError:
    field = "event_id" if prepared.kind == "event" else "session_id"
    reason = f"{prepared.key} was stored before with a different body"
    return ApiError(
        409, "conflict", reason, fields=[{"field": field, "reason": reason, "type": "conflict"}]
    )


def _item_error(index: int, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"index": index, "status": 422, "outcome": "invalid", "errors": fields}


def _item_result(index: int, prepared: Prepared, outcome: Outcome) -> dict[str, Any]:
    key = "event_id" if prepared.kind == "event" else "session_id"
    if outcome is Outcome.CONFLICT:
        return {
            "index": index,
            "status": 409,
            "outcome": "conflict",
            key: prepared.key,
            "errors": _conflict(prepared).fields,
        }
    created = 201 if prepared.kind == "session" else 202
    status = 200 if outcome is Outcome.DUPLICATE else created
    return {
        "index": index,
        "status": status,
        "outcome": outcome.value,
        key: prepared.key,
        "duplicate": outcome is Outcome.DUPLICATE,
        **_warned(prepared),
    }


def _warned(prepared: Prepared) -> dict[str, Any]:
    """The answer's ``warnings``, present only when something was not taken as sent."""
    return {"warnings": list(prepared.warnings)} if prepared.warnings else {}


def _event_answer(prepared: Prepared, outcome: Outcome) -> JSON:
    duplicate = outcome is Outcome.DUPLICATE
    return JSON(
        {"event_id": prepared.key, "duplicate": duplicate, **_warned(prepared)},
        status_code=200 if duplicate else 202,
    )


def build_router(ingestor: Ingestor, auth: TokenAuth) -> APIRouter:
    """Return the ingestion routes, under ``/analytics``; serve them with :mod:`barberpro.api.lean`.

    Each endpoint takes only the request and checks its token itself: served as lean routes they
    skip FastAPI's dependency solving, about a third of a small ingestion request's CPU.
    """
    router = APIRouter(prefix="/analytics", tags=["ingestion"])
    # Served lean, the routes are documented by their openapi_extra alone, answers included
    # (barberpro.api.answers.documented); tests/api/test_answers.py checks the real answers.

    def ingest_token(request: Request) -> None:
        auth.require(request, Role.INGEST, Role.ADMIN)

    @router.post(
        "/session/start",
        status_code=201,
        openapi_extra=json_body(schemas.SessionStart)
        | documented(
            {
                201: (acks.SessionStarted, "Stored."),
                200: (acks.SessionStarted, "Stored before: duplicate is true."),
            }
        ),
        summary="Start a session",
    )
    async def session_start(request: Request) -> JSON:
        """Store a session start; the province is normalised and the referral classified."""
        ingest_token(request)
        prepared, outcome = await ingestor.one(request, schemas.SessionStart)
        row = prepared.row
        duplicate = outcome is Outcome.DUPLICATE
        return JSON(
            {
                "session_id": prepared.key,
                "province": row["province"] or ("unknown" if row["province_as_sent"] else None),
                "referral_channel": row["referral_channel"],
                "duplicate": duplicate,
                **_warned(prepared),
            },
            status_code=200 if duplicate else 201,
        )

    def event_route(path: str, model: type[schemas._Body], summary: str) -> None:
        async def endpoint(request: Request) -> JSON:
            ingest_token(request)
            return _event_answer(*await ingestor.one(request, model))

        endpoint.__doc__ = f"{summary}: 202 when stored, 200 with duplicate=true when seen before."
        router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            status_code=202,
            summary=summary,
            openapi_extra=json_body(model)
            | documented(
                {
                    202: (acks.EventAccepted, "Stored."),
                    200: (acks.EventAccepted, "Stored before: duplicate is true."),
                }
            ),
            name=model.__name__.lower(),
        )

    event_route("/action", schemas.Action, "Track a user action")
    event_route("/funnel", schemas.Funnel, "Track a booking funnel step")
    event_route(
        "/provider/metrics", schemas.ProviderMetrics, "Track a provider's booking or rating"
    )
    event_route("/revenue", schemas.Revenue, "Track a payment and its status")
    event_route("/argentina/activity", schemas.Activity, "Track market activity in a province")

    @router.post(
        "/batch",
        status_code=207,
        openapi_extra=json_body(schemas.Batch)
        | documented({207: (acks.BatchAnswer, "One result per item, in order.")}),
        summary="Track up to 1000 events of any type",
    )
    async def batch(request: Request) -> JSON:
        """Store the good items of a batch and answer each item with its own status."""
        ingest_token(request)
        return JSON(await ingestor.batch(request), status_code=207)

    return router
