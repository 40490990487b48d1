"""Bearer tokens: ingestion takes the ingest or admin token; 401 without one, 403 wrong kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.requests import Request

from barberpro.api.auth import Role, TokenAuth
from barberpro.api.errors import ApiError

ACTION = {"session_id": "s-1", "action": "tap"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        (_bearer("wrong"), 401),
        ({"Authorization": "Basic aW5nZXN0"}, 401),
        (_bearer("ingest-secret"), 202),
        (_bearer("admin-secret"), 202),
    ],
)
async def test_ingestion_needs_the_ingest_or_admin_token(
    app_factory: Callable[..., Any], headers: dict[str, str], status: int
) -> None:
    """Ingestion without a known token is 401; either token is accepted."""
    async with app_factory(admin_token="admin-secret", ingest_token="ingest-secret") as client:
        answer = await client.post("/api/v1/analytics/action", json=ACTION, headers=headers)
    assert answer.status_code == status
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"] == "unauthorized"


async def test_the_ingest_token_cannot_read() -> None:
    """A route for the admin token answers 403 to the ingest token, 401 to an unknown one."""
    auth = TokenAuth(admin=SecretStr("admin-secret"), ingest=SecretStr("ingest-secret"))

    def request(token: str) -> Request:
        return Request(
            {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]}
        )

    assert auth.role_of(request("ingest-secret")) is Role.INGEST
    assert await auth.admin(request("admin-secret")) is Role.ADMIN
    for token, status in (("ingest-secret", 403), ("nope", 401)):
        with pytest.raises(ApiError) as raised:
            await auth.admin(request(token))
        assert raised.value.status == status


async def test_without_tokens_development_is_open(app_factory: Callable[..., Any]) -> None:
    """In development with no token configured every route is open."""
    async with app_factory() as client:
        answer = await client.post("/api/v1/analytics/action", json=ACTION)
    assert answer.status_code == 202
