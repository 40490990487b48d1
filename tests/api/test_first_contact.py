"""What a newcomer opens first: the home page, the offline API docs, the Authorize button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from barberpro.app import create_app
from barberpro.config import Settings


@pytest.fixture
def sqlite_app(sqlite_url: str) -> Callable[..., Any]:
    """An app on a fresh SQLite file, for checks that do not depend on the database."""

    @asynccontextmanager
    async def start() -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            Settings(database_url=sqlite_url, alert_enabled=False, mp_worker_enabled=False)
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client

    return start


async def test_the_home_page_links_docs_health_and_metrics(sqlite_app: Callable[..., Any]) -> None:
    """/ leads to the dashboard page, which links the docs, the health check and the metrics."""
    async with sqlite_app() as client:
        first = await client.get("/")
        answer = await client.get("/dashboard")
    assert first.status_code == 307
    assert first.headers["location"] == "/dashboard"
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    for link in ("/docs", "/api/v1/monitoring/health", "/metrics"):
        assert f'href="{link}"' in answer.text


async def test_the_docs_load_every_asset_from_the_service(sqlite_app: Callable[..., Any]) -> None:
    """/docs names no outside host, and each script and stylesheet it names is served here."""
    async with sqlite_app() as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert not re.search(r"https?://", page.text.replace("http://test", ""))
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
        assert {a.rsplit(".", 1)[-1] for a in assets} >= {"js", "css"}
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 100, asset


async def test_guarded_operations_declare_the_bearer_token(
    sqlite_app: Callable[..., Any],
) -> None:
    """The schema has a bearer scheme; guarded routes require it, the open webhook does not."""
    async with sqlite_app() as client:
        schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = schema["paths"]
    assert paths["/api/v1/analytics/dashboard"]["get"]["security"] == [{"bearer": []}]
    assert paths["/api/v1/analytics/action"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in paths["/api/v1/webhooks/mercadopago"]["post"]


@pytest.mark.parametrize("path", ["/redoc"])
async def test_redoc_leads_to_the_offline_docs(sqlite_app: Callable[..., Any], path: str) -> None:
    """ReDoc would need a CDN: its address leads to /docs instead."""
    async with sqlite_app() as client:
        answer = await client.get(path, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (307, "/docs")
