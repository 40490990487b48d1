"""Error answers: every 4xx names the field at fault and why, in one JSON shape.

``{"error": "<code>", "message": "<sentence>", "fields": [{"field": "amount", "reason": ...}]}``
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from barberpro.api.responses import JSON


class ApiError(Exception):
    """An error answer with a status, a code, a sentence and the fields it concerns."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.headers = headers

    def body(self) -> dict[str, Any]:
        """Return the JSON body of this error."""
        answer: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            answer["fields"] = self.fields
        return answer


def field_errors(
    errors: Iterable[Any], *, prefix: Sequence[str | int] = ()
) -> list[dict[str, Any]]:
    """Return pydantic's errors as ``{field, reason, type}``, the field as a dotted path."""
    found = []
    for err in errors:
        loc = [*prefix, *(p for p in err["loc"] if p != "body")]
        reason = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown field (a misspelling?): not part of this body"
        found.append(
            {
                "field": ".".join(str(p) for p in loc) or "body",
                "reason": reason,
                "type": err["type"],
            }
        )
    return found


def validation_error(exc: ValidationError, *, prefix: Sequence[str | int] = ()) -> ApiError:
    """Return the 422 answer for a pydantic ValidationError."""
    fields = field_errors(exc.errors(include_url=False), prefix=prefix)
    names = ", ".join(f["field"] for f in fields)
    return ApiError(422, "invalid_request", f"invalid fields: {names}", fields=fields)


def install(app: FastAPI) -> None:
    """Answer ApiError, FastAPI's validation errors and HTTP errors in the shared shape."""

    async def on_api_error(_request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, ApiError)
        return JSON(exc.body(), status_code=exc.status, headers=exc.headers)

    async def on_validation(_request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, RequestValidationError)
        fields = field_errors(exc.errors())
        names = ", ".join(f["field"] for f in fields)
        err = ApiError(422, "invalid_request", f"invalid fields: {names}", fields=fields)
        return JSON(err.body(), status_code=422)

    async def on_http(_request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSON(
            {"error": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
