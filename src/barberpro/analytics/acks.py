"""The answers of the ingestion routes: what became of each event.

Documented through :func:`barberpro.api.answers.documented` (the routes are served lean).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from barberpro.api.answers import Answer, FieldProblem
from barberpro.argentina import Channel


class SessionStarted(Answer):
    """POST /analytics/session/start: 201 stored, 200 seen before."""

    session_id: str = Field(description="The one sent, or the one the service made.")
    province: str | None = Field(
        description="ISO 3166-2:AR code; null when none was sent, unknown when not recognised."
    )
    referral_channel: Channel = Field(description="Classified from the referral fields.")
    duplicate: bool = Field(description="True when this session start was stored before.")
    warnings: list[FieldProblem] | None = Field(
        default=None, description="What was accepted but not as sent (an unknown province)."
    )


class EventAccepted(Answer):
    """An event route's answer: 202 stored, 200 seen before."""

    event_id: str = Field(description="The one sent, or the one the service made.")
    duplicate: bool = Field(description="True when this event was stored before.")
    warnings: list[FieldProblem] | None = Field(
        default=None, description="What was accepted but not as sent (an unknown province)."
    )


class ItemStored(Answer):
    """A batch item stored now (201 or 202) or before (200, a duplicate)."""

    index: int = Field(description="The item's position in the batch.")
    status: Literal[200, 201, 202]
    outcome: Literal["stored", "duplicate"]
    event_id: str | None = Field(default=None, description="For events; absent otherwise.")
    session_id: str | None = Field(
        default=None, description="For session starts; absent otherwise."
    )
    duplicate: bool
    warnings: list[FieldProblem] | None = Field(
        default=None, description="What was accepted but not as sent (an unknown province)."
    )


class ItemConflict(Answer):
    """A batch item whose id was stored before with a different body."""

    index: int
    status: Literal[409]
    outcome: Literal["conflict"]
    event_id: str | None = Field(default=None, description="For events; absent otherwise.")
    session_id: str | None = Field(
        default=None, description="For session starts; absent otherwise."
    )
    errors: list[FieldProblem]


class ItemInvalid(Answer):
    """A batch item that was not stored: each bad field named."""

    index: int
    status: Literal[422]
    outcome: Literal["invalid"]
    errors: list[FieldProblem]


class BatchAnswer(Answer):
    """POST /analytics/batch (207): the counts, and one result per item in order."""

    accepted: int = Field(description="stored + duplicates.")
    stored: int
    duplicates: int
    rejected: int = Field(description="Conflicts and invalid items.")
    # A plain union, not a discriminated one: the lean routes' schemas are written inline,
    # where a discriminator's mapping would point at definitions that are not there.
    results: list[ItemStored | ItemConflict | ItemInvalid]
