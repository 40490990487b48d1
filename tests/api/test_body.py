"""Reading a JSON body straight from the ASGI messages: chunks, the size limit, a disconnect."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from barberpro.api.body import read_bytes
from barberpro.api.errors import ApiError


def _request(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]) -> Request:
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    return Request(scope, receive)


JSON_TYPE = [(b"content-type", b"application/json")]


async def test_chunks_are_joined() -> None:
    """A body in several messages comes back whole."""
    messages = [
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b" 1}", "more_body": False},
    ]
    assert await read_bytes(_request(messages, JSON_TYPE), max_bytes=100) == b'{"a": 1}'


async def test_a_body_over_the_limit_without_a_length_is_413() -> None:
    """Chunked (no Content-Length): the limit is enforced as the chunks arrive."""
    messages = [
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
        {"type": "http.request", "body": b"x" * 60, "more_body": False},
    ]
    with pytest.raises(ApiError) as caught:
        await read_bytes(_request(messages, JSON_TYPE), max_bytes=100)
    assert caught.value.status == 413


async def test_a_client_gone_mid_body_is_a_400_and_nothing_more() -> None:
    """A disconnect before the last chunk ends the read with client_disconnected."""
    messages = [
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.disconnect"},
    ]
    with pytest.raises(ApiError) as caught:
        await read_bytes(_request(messages, JSON_TYPE), max_bytes=100)
    assert (caught.value.status, caught.value.code) == (400, "client_disconnected")
