"""Reading a MercadoPago webhook: which topic and resource it names, and its identity.

``POST /api/v1/webhooks/mercadopago?data.id=123&type=payment`` with a JSON body such as
``{"id": 12345, "type": "payment", "action": "payment.updated", "data": {"id": "123"}}``.
The notification's identity is the body's ``id`` (MercadoPago's notification id) with the
``x-request-id`` header: the queue stores each pair once, so a redelivery is recognised.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

# MercadoPago's topic names, old (IPN) and new (Webhooks), mapped to ours.
TOPICS: dict[str, str] = {
    "payment": "payment",
    "payments": "payment",
    "chargebacks": "chargebacks",
    "chargeback": "chargebacks",
    "merchant_order": "merchant_order",
    "topic_merchant_order_wh": "merchant_order",
}
#: Topics the worker fetches; the others are stored and left alone.
PROCESSED_TOPICS: frozenset[str] = frozenset({"payment", "chargebacks"})
MAX_ID = 64


class WebhookError(ValueError):
    """The notification cannot be stored; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Incoming:
    """A notification as it will be stored."""

    notification_id: str
    request_id: str  # "" when the header was absent
    topic: str
    action: str | None
    resource_id: str
    body: str | None

    @property
    def unfetchable(self) -> bool:
        """True for a payment or chargeback whose id MercadoPago could not have sent.

        MercadoPago's payment and chargeback ids are numbers; fetching ``abc`` can only fail,
        and retrying it would read as a failing payment.
        """
        return self.topic in PROCESSED_TOPICS and not (
            self.resource_id.isascii() and self.resource_id.isdigit()
        )

    @property
    def processed(self) -> bool:
        """True when the worker has something to fetch for this notification."""
        return self.topic in PROCESSED_TOPICS and not self.unfetchable


def read(query: Mapping[str, str], request_id: str | None, raw: bytes) -> Incoming:
    """Return the notification of a webhook request; raise WebhookError when it names nothing."""
    body = _json_object(raw)
    data = body.get("data")
    data = data if isinstance(data, Mapping) else {}
    topic_text = query.get("type") or query.get("topic") or _text(body.get("type"))
    topic_text = topic_text or _text(body.get("topic"))
    if not topic_text:
        raise WebhookError("type", "the notification names no topic (query type or body type)")
    topic = TOPICS.get(topic_text.strip().lower(), topic_text.strip().lower()[:32])
    resource = query.get("data.id") or query.get("id") or _text(data.get("id"))
    if not resource or not resource.strip():
        raise WebhookError("data.id", "the notification names no resource (query data.id)")
    resource = resource.strip()
    if len(resource) > MAX_ID:
        raise WebhookError("data.id", f"longer than {MAX_ID} characters")
    request = (request_id or "").strip()[:128]
    notification = _text(body.get("id"))
    if notification is None or len(notification) > MAX_ID:
        # Without MercadoPago's id, the request id still tells a redelivery; with neither,
        # every delivery is new (processing is idempotent per payment state anyway).
        notification = f"{topic}:{resource}"[:MAX_ID] if request else str(uuid.uuid4())
    action = _text(body.get("action"))
    return Incoming(
        notification_id=notification,
        request_id=request,
        topic=topic,
        action=action[:64] if action else None,
        resource_id=resource,
        body=raw.decode(errors="replace") if raw else None,
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WebhookError("body", f"not valid JSON: {exc}") from exc
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text or None
