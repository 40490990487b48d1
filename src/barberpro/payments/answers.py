"""The answers of the payments routes and the payments section of the monitoring dashboard.

Declared on the routes for the OpenAPI document (see :mod:`barberpro.api.answers`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from barberpro.api.answers import Answer


class WebhookReceived(Answer):
    """POST /webhooks/mercadopago: the notification is stored; it is processed later."""

    received: Literal[True]
    id: str = Field(description="The stored notification's id.")
    duplicate: bool = Field(description="True when MercadoPago sent this notification before.")


class DeadLetter(Answer):
    """A MercadoPago notification that failed every attempt."""

    id: str
    notification_id: str
    request_id: str | None = Field(description="MercadoPago's x-request-id; null if none.")
    topic: str
    action: str | None
    resource_id: str = Field(description="What the notification is about (data.id).")
    attempts: int
    received_at: datetime
    dead_since: datetime
    reason: Literal["not_found", "refused", "unusable_payload", "attempts_exhausted"] | None = (
        Field(description="Why it is dead: the first word of last_error.")
    )
    last_error: str | None
    last_http_status: int | None


class DeadLetters(Answer):
    """GET /payments/dead-letters: one page, newest first, and the total."""

    total: int
    items: list[DeadLetter]


class Requeued(Answer):
    """POST /payments/dead-letters/{row_id}/retry: the notification is pending again."""

    id: str
    status: Literal["pending"]


class QueueCounts(Answer):
    """Notifications in each status."""

    pending: int
    processing: int
    done: int
    dead: int = Field(description="The dead-letter list.")
    skipped: int = Field(description="Stored, nothing to fetch (merchant orders, other topics).")


class Circuit(Answer):
    """The circuit breaker in front of MercadoPago's API."""

    state: Literal["closed", "open", "half_open"]
    consecutive_failures: int
    failure_threshold: int
    reset_s: float
    opened_count: int
    retry_in_s: float | None = Field(description="Seconds until a trial call; null if closed.")


class WorkerCounts(Answer):
    """The processing worker of this process."""

    running: bool
    processed: int
    failed_attempts: int
    dead_lettered: int


class ApiCalls(Answer):
    """Calls to MercadoPago's API from this process."""

    calls: int
    failed_calls: int


class PaymentsStatus(Answer):
    """GET /payments/status, and the payments section of the monitoring dashboard."""

    provider: Literal["mercadopago"]
    queue_depth: int = Field(description="Pending and processing.")
    queue: QueueCounts
    dead_letters: int
    recent_dead_letters: list[DeadLetter] = Field(description="The 10 newest.")
    circuit: Circuit
    worker: WorkerCounts
    api: ApiCalls
    webhooks: dict[str, int] = Field(
        description=(
            "Webhooks received by outcome: accepted, duplicate, skipped (an id MercadoPago "
            "never sends), rejected_<verdict>."
        )
    )
