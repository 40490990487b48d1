"""HTTP routes of the payments domain: the MercadoPago webhook and the dead-letter list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from barberpro.api.auth import TokenAuth
from barberpro.api.errors import ApiError
from barberpro.api.responses import JSON
from barberpro.payments import answers
from barberpro.payments.mercadopago import signature, webhook
from barberpro.payments.service import PaymentsService


def build_router(payments: PaymentsService, auth: TokenAuth) -> APIRouter:
    """Return the payments routes (include under ``/api/v1``)."""
    router = APIRouter(tags=["payments"])

    # The answers are returned as rendered responses, which FastAPI passes through:
    # response_model documents them (tests/api/test_answers.py checks them).
    @router.post(
        "/webhooks/mercadopago",
        summary="MercadoPago notification (signed with x-signature)",
        responses={401: {"description": "missing or invalid signature; nothing is stored"}},
        response_model=answers.WebhookReceived,
    )
    async def mercadopago_webhook(request: Request) -> JSON:
        """Verify the signature, store the notification durably, answer 200 at once."""
        query = request.query_params
        verdict = payments.check_signature(
            header=request.headers.get("x-signature"),
            data_id=query.get("data.id"),
            request_id=request.headers.get("x-request-id"),
        )
        if not verdict.ok:
            raise ApiError(
                401,
                "invalid_signature",
                f"x-signature rejected ({verdict.value}): {_WHY[verdict]}; nothing was stored",
            )
        raw = await _read_limited(request, payments.config.max_body_bytes)
        try:
            incoming = webhook.read(query, request.headers.get("x-request-id"), raw)
        except webhook.WebhookError as exc:
            raise ApiError(
                422,
                "invalid_request",
                f"invalid fields: {exc.field}",
                fields=[{"field": exc.field, "reason": exc.reason, "type": "value_error"}],
            ) from exc
        received = await payments.receive(incoming)
        return JSON({"received": True, "id": received.row_id, "duplicate": received.duplicate})

    @router.get(
        "/payments/dead-letters",
        dependencies=[Depends(auth.admin)],
        summary="MercadoPago notifications that failed every attempt",
        response_model=answers.DeadLetters,
    )
    async def dead_letters(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> JSON:
        """Return the dead-letter list, newest first, and its total."""
        counts = await payments.queue.counts()
        items = await payments.queue.dead_letters(limit=limit, offset=offset)
        return JSON({"total": counts["dead"], "items": items})

    @router.post(
        "/payments/dead-letters/{row_id}/retry",
        dependencies=[Depends(auth.admin)],
        summary="Send a dead letter back to the processing queue",
        response_model=answers.Requeued,
    )
    async def retry_dead_letter(row_id: Annotated[str, Path(max_length=36)]) -> JSON:
        """Requeue one dead letter with fresh attempts; 404 unknown, 409 when not dead."""
        outcome = await payments.queue.requeue_dead(row_id)
        if outcome == "missing":
            raise ApiError(404, "not_found", f"no MercadoPago notification {row_id!r}")
        if outcome == "not_dead":
            raise ApiError(409, "conflict", f"notification {row_id!r} is not a dead letter")
        payments.worker.wake()
        return JSON({"id": row_id, "status": "pending"})

    @router.get(
        "/payments/status",
        dependencies=[Depends(auth.admin)],
        summary="Queue depth, dead letters, circuit breaker and worker counters",
        response_model=answers.PaymentsStatus,
    )
    async def status() -> JSON:
        """Return the same section the monitoring dashboard shows for payments."""
        summary: dict[str, Any] = await payments.summary()
        return JSON(summary)

    return router


_WHY = {
    signature.Verdict.MISSING: "the header is missing",
    signature.Verdict.MALFORMED: "the header has no v1 part",
    signature.Verdict.MISMATCH: "it is not this notification's HMAC with the webhook secret",
    signature.Verdict.STALE: "its ts is outside BARBERPRO_MP_SIGNATURE_TOLERANCE_S",
    signature.Verdict.VALID: "",
}


async def _read_limited(request: Request, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "payload_too_large", f"the body is over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
