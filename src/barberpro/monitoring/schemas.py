"""Bodies of the two monitoring reports other servers POST."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
    ),
]
Instance = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class WebhookReport(BaseModel):
    """An external webhook processor's account of one payment webhook."""

    model_config = ConfigDict(extra="forbid")

    provider: Label = Field(description="Payment provider, e.g. mercadopago.")
    event_type: Label = Field(description="The webhook's type or action, e.g. payment.updated.")
    status: Literal["success", "failure"]
    processing_ms: float = Field(ge=0, le=3_600_000, allow_inf_nan=False)
    http_status: int | None = Field(default=None, ge=100, le=599)
    error: Annotated[str, StringConstraints(max_length=2000)] | None = None
    notification_id: Annotated[str, StringConstraints(max_length=128)] | None = None


class ConnectionReport(BaseModel):
    """An external socket server's counts since its previous report, and its open connections."""

    model_config = ConfigDict(extra="forbid")

    instance: Instance = Field(description="The reporting server's name; its latest active wins.")
    active: Count = Field(description="Connections open now.")
    opened: Count = Field(default=0, description="Connections opened since the previous report.")
    closed: Count = Field(default=0, description="Connections closed since the previous report.")
    errors: Count = Field(default=0, description="Abnormal closes and errors since then.")
