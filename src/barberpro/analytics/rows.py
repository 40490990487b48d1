"""Turn validated request bodies into table rows: ids, clock correction, hashing, money."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from barberpro.analytics import schemas
from barberpro.argentina import classify_referral, cuit_hash
from barberpro.argentina.timezone import from_micros as from_micros  # for payments.queue
from barberpro.argentina.timezone import to_micros
from barberpro.db import tables


class EventTimeError(ValueError):
    """The event's time cannot be accepted; the message says why, ``field`` which field."""

    def __init__(self, reason: str, *, field: str = "timestamp", kind: str = "timestamp") -> None:
        super().__init__(reason)
        self.field = field
        self.kind = kind


#: How far back an event may be dated unless the settings say otherwise.
DEFAULT_MAX_PAST = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One validated event ready for the writer: which table, its key, its row."""

    kind: str  # "event" or "session"
    key: str  # event_id, or session_id for a session start
    row: dict[str, Any]
    # What was accepted but not as sent (an unrecognised province), for the answer.
    warnings: tuple[dict[str, str], ...] = ()


def province_warnings(as_sent: str | None, field: str) -> tuple[dict[str, str], ...]:
    """The warning of a province we could not recognise, stored as unknown."""
    if as_sent is None:
        return ()
    reason = f"{as_sent!r} is not a province we know; stored as unknown, the text kept for review"
    return ({"field": field, "reason": reason, "type": "unknown_province"},)


def event_time(
    *,
    timestamp: datetime | None,
    sent_at: datetime | None,
    now: datetime,
    max_future: timedelta,
    max_past: timedelta = DEFAULT_MAX_PAST,
) -> datetime:
    """Return when the event happened, correcting the client's clock by its ``sent_at``.

    PostHog's rule: the skew is ``sent_at - now``, so the event time is ``timestamp - skew``.
    Without a timestamp the event happened when it arrived. An event still further in the
    future than ``max_future`` after correction is refused: it would sit in tomorrow's figures;
    one older than ``max_past`` too (a typo'd year, a clock at 1970). A ``sent_at`` further
    than ``max_past`` from now says nothing about the client's clock and is refused as well.
    """
    if sent_at is not None:
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        if abs(_minus(sent_at, now, "sent_at")) > max_past:
            raise EventTimeError(
                f"more than {max_past.days} days from the server's clock: not a client's clock",
                field="sent_at",
                kind="sent_at_out_of_range",
            )
    if timestamp is None:
        return now
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    if sent_at is not None:
        try:
            timestamp = timestamp - (sent_at - now)
        except OverflowError:
            raise EventTimeError(
                "out of range after clock correction", kind="old_timestamp"
            ) from None
    ahead = _minus(timestamp, now, "timestamp")
    if ahead > max_future:
        hours = max_future.total_seconds() / 3600
        raise EventTimeError(
            f"more than {hours:g} h in the future after clock correction", kind="future_timestamp"
        )
    if -ahead > max_past:
        raise EventTimeError(
            f"more than {max_past.days} days in the past (BARBERPRO_MAX_PAST_DAYS)",
            kind="old_timestamp",
        )
    return timestamp


def _minus(moment: datetime, now: datetime, field: str) -> timedelta:
    try:
        return moment - now
    except OverflowError:  # years 1 and 9999 with an offset: beyond what datetime holds
        raise EventTimeError("out of the range of dates", field=field, kind="date_range") from None


def cents(amount: Decimal | None) -> int | None:
    """Return an amount with at most two decimals as integer centavos."""
    return None if amount is None else int(amount * 100)


#: Fields left out of the body hash: a retry carries the same id and a new sent_at; a CUIT is
#: in it only as its keyed hash (an unkeyed digest of so few numbers could be reversed).
_UNHASHED: set[str] = {"sent_at", "event_id", "cuit"}


def body_hash(body: schemas._Body, *, cuit: str | None = None) -> str:
    """Return a digest of what the client said, so a resent event can be told from a clash.

    ``sent_at`` and ``event_id`` are left out; ``cuit`` is the keyed hash of the body's CUIT.
    """
    data = body.model_dump(mode="json", exclude=_UNHASHED, exclude_none=True)
    if cuit is not None:
        data["cuit_hash"] = cuit
    return hashlib.blake2b(
        orjson.dumps(data, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


_EVENT_TYPES: dict[type[schemas._Body], str] = {
    schemas.Action: "action",
    schemas.Funnel: "funnel",
    schemas.ProviderMetrics: "provider_metrics",
    schemas.Revenue: "revenue",
    schemas.Activity: "activity",
}


def prepare(
    body: schemas._Body,
    *,
    now: datetime,
    max_future: timedelta,
    sent_at: datetime | None = None,
    max_past: timedelta = DEFAULT_MAX_PAST,
    identity_key: bytes | None = None,
) -> Prepared:
    """Return the row for a validated body; ``sent_at`` is the batch's, used when the item has none.

    A provider signup's CUIT becomes its HMAC under ``identity_key``, which it then needs.
    Raises EventTimeError when the corrected time is too far in the future.
    """
    client_sent = getattr(body, "sent_at", None) or sent_at
    moment = event_time(
        timestamp=getattr(body, "timestamp", None),
        sent_at=client_sent,
        now=now,
        max_future=max_future,
        max_past=max_past,
    )
    at = to_micros(moment)
    received = to_micros(now)
    hashed = None
    if isinstance(body, schemas.Activity) and body.cuit is not None:
        if identity_key is None:
            raise RuntimeError("a CUIT arrived without an identity key to hash it under")
        hashed = cuit_hash(body.cuit, identity_key)
    digest = body_hash(body, cuit=hashed)
    if isinstance(body, schemas.SessionStart):
        return _session_row(body, at=at, digest=digest)
    assert isinstance(body, schemas._Event)
    event_id = str(body.event_id or uuid.uuid4())
    row: dict[str, Any] = dict.fromkeys(_EVENT_COLUMNS)
    row.update(
        event_id=event_id,
        type=_EVENT_TYPES[type(body)],
        body_hash=digest,
        occurred_at=at,
        received_at=received,
        session_id=getattr(body, "session_id", None),
        user_id=getattr(body, "user_id", None),
    )
    if isinstance(body, schemas.Action):
        row.update(action=body.action, properties=orjson.dumps(body.properties).decode())
    elif isinstance(body, schemas.Funnel):
        row.update(
            step=body.step,
            booking_id=body.booking_id,
            provider_id=body.provider_id,
            service_id=body.service_id,
        )
    elif isinstance(body, schemas.ProviderMetrics):
        row.update(
            provider_id=body.provider_id,
            provider_event=body.event,
            booking_id=body.booking_id,
            amount_cents=cents(body.amount),
            currency=body.currency if body.amount is not None else None,
            rating=body.rating,
            province=body.province,
            province_as_sent=body.province_as_sent,
            city=body.city,
        )
    elif isinstance(body, schemas.Revenue):
        row.update(
            payment_id=body.payment_id,
            booking_id=body.booking_id,
            provider_id=body.provider_id,
            amount_cents=cents(body.amount),
            currency=body.currency,
            status=body.status,
            payment_method=body.payment_method,
            payment_type=body.payment_type,
            installments=body.installments,
            commission_cents=cents(body.commission),
            province=body.province,
            province_as_sent=body.province_as_sent,
        )
    elif isinstance(body, schemas.Activity):
        row.update(
            province=body.province,
            city=body.city,
            activity=body.activity,
            count=body.count,
            cuit_hash=hashed,
        )
    as_sent = row.get("province_as_sent")
    return Prepared(
        kind="event", key=event_id, row=row, warnings=province_warnings(as_sent, "province")
    )


# Plain str keys: the writer serialises rows with orjson, which takes no str subclass as a key.
_EVENT_COLUMNS = tuple(str(column.name) for column in tables.events.columns)


def _session_row(body: schemas.SessionStart, *, at: int, digest: str) -> Prepared:
    session_id = body.session_id or str(uuid.uuid4())
    referral = body.referral
    channel = classify_referral(
        source=referral.source,
        medium=referral.medium,
        referrer_url=referral.referrer_url,
        landing_url=referral.landing_url,
    )
    row = {
        "session_id": session_id,
        "explicit": True,
        "body_hash": digest,
        "user_id": body.user_id,
        "anonymous_id": body.anonymous_id,
        "user_type": body.user_type,
        "device_type": body.device.type,
        "os": body.device.os,
        "browser": body.device.browser,
        "province": body.location.province,
        "province_as_sent": body.location.province_as_sent,
        "city": body.location.city,
        "source": referral.source,
        "medium": referral.medium,
        "campaign": referral.campaign,
        "referrer_url": referral.referrer_url,
        "landing_url": referral.landing_url,
        "referral_channel": channel,
        "started_at": at,
        "last_seen_at": at,
        "event_count": 0,
    }
    warnings = province_warnings(body.location.province_as_sent, "location.province")
    return Prepared(kind="session", key=session_id, row=row, warnings=warnings)
