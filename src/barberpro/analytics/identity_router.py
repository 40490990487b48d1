"""POST /argentina/identity/validate: is this a DNI, CUIT or CUIL, and whose (ingest token).

Here rather than in barberpro.argentina, which imports nothing of the service (no FastAPI, no
answer models). The route logs nothing: the number identifies a person. Its answer carries the
digits back, which the caller sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import Field

from barberpro.analytics.schemas import IdentityNumber
from barberpro.api.answers import Answer
from barberpro.api.auth import Role, TokenAuth
from barberpro.api.responses import JSON
from barberpro.argentina import IdType, Kind, check


class IdentityCheck(Answer):
    """Whether the number is valid, and if so its digits, its written form and whose it is."""

    type: IdType = Field(description="The type checked: DNI, CUIT or CUIL.")
    valid: bool
    normalized: str | None = Field(
        description="The digits alone (DNI 7 or 8, CUIT/CUIL 11); null when invalid."
    )
    formatted: str | None = Field(
        description="As people write it: 12.345.678 or 20-12345678-6; null when invalid."
    )
    kind: Kind | None = Field(
        description="person (a DNI, a CUIT/CUIL of prefix 20, 23-27), company (30, 33, 34); "
        "null when invalid or for the international prefixes 50, 51 and 55."
    )
    reason: str | None = Field(
        description="Why it is invalid (never repeating the number); null when valid."
    )


_Answer = dict[str, str | bool | None]


def build_router(auth: TokenAuth) -> APIRouter:
    """Return the identity route, mounted under ``/api/v1``."""
    router = APIRouter(prefix="/argentina", tags=["argentina"])
    ingest = Depends(auth.ingest)

    # Rendered by orjson and passed through; response_model documents it
    # (tests/api/test_answers.py checks the real answers against it).
    @router.post(
        "/identity/validate",
        summary="Validate a DNI, CUIT or CUIL",
        response_model=IdentityCheck,
        responses={422: {"description": "A field is missing, unknown or not a string."}},
    )
    async def validate(body: IdentityNumber, _role: Role = ingest) -> JSON:
        """Check the number's length, digits, CUIT type prefix and check digit; 200 either way.

        The number may carry dots, dashes and spaces; the type any case. A CUIL is a person's
        CUIT, so one with a company's prefix is invalid.
        """
        found = check(body.type, body.number)
        answer: _Answer = {
            "type": found.type,
            "valid": found.valid,
            "normalized": found.normalized,
            "formatted": found.formatted,
            "kind": found.kind,
            "reason": found.reason,
        }
        return JSON(answer)

    return router


__all__ = ["IdentityCheck", "build_router"]
