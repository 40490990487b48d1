"""Reading JSON request bodies: content type, size limit, parse, with our error answers."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from barberpro.api.errors import ApiError


async def read_bytes(request: Request, *, max_bytes: int) -> bytes:
    """Return the raw body of a JSON request; 415 unless JSON, 413 when over ``max_bytes``."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the body must be JSON (Content-Type: application/json), not {media or 'none'!r}",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    # Straight from the ASGI messages: Request.stream() wraps each one in an async generator.
    chunks = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # The client went away mid-body: nothing was stored and nobody is left to answer.
            raise ApiError(400, "client_disconnected", "the client closed the request")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def read_json(request: Request, *, max_bytes: int) -> Any:
    """Return the parsed JSON body, with the answers of :func:`read_bytes` and 400 for bad JSON."""
    raw = await read_bytes(request, max_bytes=max_bytes)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise malformed_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def malformed_json(where: str) -> ApiError:
    """The 400 of a body that is JSON by its Content-Type but does not parse; ``where`` says
    what broke and where (line and column), or that it nests too deeply."""
    if "recursion limit" in where.lower():
        where = f"valid JSON perhaps, but nested too deeply to read ({where})"
    return ApiError(
        400,
        "malformed_json",
        f"the body is not valid JSON: {where}",
        fields=[{"field": "body", "reason": where, "type": "json_invalid"}],
    )


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is over the limit of {max_bytes} bytes")
