"""The request bodies of the ingestion endpoints, their fields named as the API documents them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from barberpro.analytics.funnel_definition import STEP_COUNT, STEP_NAMES, step_number
from barberpro.api.text import storable
from barberpro.argentina import IdType, normalize_cuit, normalize_province

MAX_PROPERTIES_BYTES = 8 * 1024

# MercadoPago's payment statuses (https://www.mercadopago.com.ar/developers, "payments").
PaymentStatus = Literal[
    "pending",
    "approved",
    "authorized",
    "in_process",
    "in_mediation",
    "rejected",
    "cancelled",
    "refunded",
    "charged_back",
]
# MercadoPago's payment_type_id values.
PaymentType = Literal[
    "credit_card",
    "debit_card",
    "prepaid_card",
    "account_money",
    "ticket",
    "atm",
    "bank_transfer",
    "digital_currency",
    "digital_wallet",
    "voucher_card",
    "crypto_transfer",
]

Id = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(storable),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(storable),
]
Text = Annotated[str, StringConstraints(max_length=2048), AfterValidator(storable)]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
# Lower-cased before the pattern applies (StringConstraints checks the pattern first).
PaymentMethod = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$"),
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
]


def _province(value: object) -> object:
    """Normalise a province to its ISO 3166-2:AR code (pydantic reports the ValueError)."""
    return normalize_province(value) if isinstance(value, str) else value


ProvinceCode = Annotated[str, BeforeValidator(_province)]


def known_province(value: object) -> bool:
    """True when ``value`` is a province spelling we know (or not a string: pydantic decides)."""
    if not isinstance(value, str):
        return True
    try:
        normalize_province(value)
    except ValueError:
        return False
    return True


class _LenientProvince(BaseModel):
    """A ``province`` people type: an unrecognised one is stored unknown, its text kept.

    Refusing "Capitl" would lose the whole session (device, referral) over one field; the text
    as sent is kept for review (``province_as_sent``) and the answer warns about it.
    """

    _province_as_sent: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _lenient(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        raw = data.get("province") if isinstance(data, dict) else None
        if not isinstance(raw, str) or known_province(raw):
            return handler(data)
        model = handler({**data, "province": None})
        if raw.strip():
            model._province_as_sent = storable(raw.strip()[:128])
        return model

    @property
    def province_as_sent(self) -> str | None:
        """The province's text when we could not recognise it; None otherwise."""
        return self._province_as_sent


class _Body(BaseModel):
    """Shared configuration: unknown fields are refused, strings are stripped.

    A misspelt field (``timestmap``) would otherwise be dropped without a word and change a
    figure (the event would take its arrival time). Free-form data goes in ``properties``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class _Event(_Body):
    """Fields every event has: its id, when it happened and when the client sent it."""

    event_id: UUID | None = None
    timestamp: datetime | None = None
    # When the client sent the request; corrects the client's clock (PostHog's rule).
    sent_at: datetime | None = None


class _Nested(_Body):
    """Nested details stay lenient: clients add device and location keys of their own."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


class Device(_Nested):
    """The device a session runs on."""

    type: Literal["mobile", "desktop", "tablet"] | None = None
    os: Name | None = None
    browser: Name | None = None


class Location(_LenientProvince, _Nested):
    """Where a session is: a province (code or name) and a city."""

    province: ProvinceCode | None = None
    city: Id | None = None


class Referral(_Nested):
    """How a session arrived: UTM fields and URLs."""

    source: Id | None = None
    medium: Id | None = None
    campaign: Id | None = None
    referrer_url: Text | None = None
    landing_url: Text | None = None


class SessionStart(_Body):
    """POST /analytics/session/start."""

    session_id: Id | None = None
    user_id: Id | None = None
    anonymous_id: Id | None = None
    user_type: Literal["client", "provider"] = "client"
    device: Device = Device()
    location: Location = Location()
    referral: Referral = Referral()
    timestamp: datetime | None = None
    sent_at: datetime | None = None


class Action(_Event):
    """POST /analytics/action."""

    session_id: Id
    user_id: Id | None = None
    action: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")]
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _small_enough(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            size = len(orjson.dumps(value))
        except orjson.JSONEncodeError as exc:  # an integer beyond 64 bits, mostly
            raise ValueError(f"properties cannot be stored as JSON: {exc}") from None
        if size > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties take {size} bytes as JSON; the limit is 8 KiB (8192)")
        return value


def _step(value: object) -> object:
    """Accept a step as its number or its name; return its number."""
    if isinstance(value, str):
        number = step_number(value)
        if number is not None:
            return number
        if value.strip().isdigit():
            return int(value.strip())
        raise ValueError(
            f"unknown step {value!r}: use 1-{STEP_COUNT} or one of {', '.join(STEP_NAMES)}"
        )
    return value


class Funnel(_Event):
    """POST /analytics/funnel."""

    session_id: Id
    user_id: Id | None = None
    step: Annotated[int, BeforeValidator(_step), Field(ge=1, le=STEP_COUNT, strict=False)]
    booking_id: Id | None = None
    provider_id: Id | None = None
    service_id: Id | None = None


class ProviderMetrics(_LenientProvince, _Event):
    """POST /analytics/provider/metrics."""

    provider_id: Id
    event: Literal["booking_completed", "booking_cancelled", "no_show", "rating"]
    session_id: Id | None = None
    booking_id: Id | None = None
    amount: Money | None = None
    currency: Currency = "ARS"
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    province: ProvinceCode | None = None
    city: Id | None = None

    @model_validator(mode="after")
    def _rating_needs_value(self) -> ProviderMetrics:
        if self.event == "rating" and self.rating is None:
            raise ValueError("rating: a rating event needs a rating from 1 to 5")
        return self


class Revenue(_LenientProvince, _Event):
    """POST /analytics/revenue."""

    payment_id: Id
    session_id: Id | None = None
    booking_id: Id | None = None
    provider_id: Id | None = None
    user_id: Id | None = None
    amount: Money
    currency: Currency = "ARS"
    status: PaymentStatus
    payment_method: PaymentMethod
    payment_type: PaymentType
    installments: Annotated[int, Field(ge=1, le=24)] = 1
    commission: Money | None = None
    province: ProvinceCode | None = None

    @model_validator(mode="after")
    def _commission_within_amount(self) -> Revenue:
        if self.commission is not None and self.commission > self.amount:
            raise ValueError(
                f"commission {self.commission} is above the amount {self.amount}: the "
                "platform cannot earn more than was paid"
            )
        return self


# An identity number as sent: with dots, dashes or spaces, but never longer than this.
IdentityText = Annotated[str, StringConstraints(max_length=32)]


class Activity(_Event):
    """POST /analytics/argentina/activity."""

    province: ProvinceCode
    city: Id | None = None
    activity: Literal["search", "booking", "client_signup", "provider_signup", "provider_active"]
    count: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    session_id: Id | None = None
    # A provider_signup's CUIT, held as its 11 digits for rows.prepare to hash: only the HMAC is
    # stored (events.cuit_hash). Out of repr, so a logged body does not carry the number.
    cuit: IdentityText | None = Field(default=None, repr=False)

    @field_validator("cuit")
    @classmethod
    def _provider_cuit(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        activity = info.data.get("activity")
        if activity is not None and activity != "provider_signup":
            raise ValueError(f"only a provider_signup carries a CUIT, not a {activity}")
        return normalize_cuit(value)  # its ValueError says why, never the number


EVENT_MODELS: dict[str, type[_Body]] = {
    "session_start": SessionStart,
    "action": Action,
    "funnel": Funnel,
    "provider_metrics": ProviderMetrics,
    "revenue": Revenue,
    "activity": Activity,
}


def _id_type(value: object) -> object:
    """Accept the type of an identity number in any case ("cuit", "Dni")."""
    return value.strip().upper() if isinstance(value, str) else value


class IdentityNumber(_Body):
    """POST /argentina/identity/validate: a DNI, CUIT or CUIL to check."""

    type: Annotated[IdType, BeforeValidator(_id_type)]
    number: IdentityText = Field(repr=False)


class Batch(_Body):
    """POST /analytics/batch: events of any type, each answered on its own."""

    # Any JSON values: an item that is not an object gets its own error, the others are stored.
    events: list[Any]
    sent_at: datetime | None = None
