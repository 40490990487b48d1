"""The live dashboard page in a real browser (Debian's Chromium through Playwright) against a
real ``barberpro serve`` fed by ``barberpro simulate``.

Screenshots are kept in ``test-artifacts/`` at the project's root.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from barberpro.report.render import ars, number
from barberpro.web import STATIC
from tests.server import BARBERPRO, running_server, server_env

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
TOKEN = "page-admin-token-0123456789abcdef0123"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VENDOR = STATIC / "vendor"


def _need_browser() -> None:
    missing = [
        what
        for what, found in (
            (CHROMIUM, os.path.exists(CHROMIUM)),
            ("make install's vendor assets", (VENDOR / "chart.umd.min.js").exists()),
        )
        if not found
    ]
    if missing:
        message = f"the browser test needs {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _need_browser()
    database = tmp_path_factory.mktemp("page") / "page.db"
    env = server_env(
        database_url=f"sqlite+aiosqlite:///{database}",
        admin_token=TOKEN,
        realtime_push_interval_s="0.5",
        ops_flush_interval_s="1",
    )
    with running_server(env) as running:
        yield running.url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def _page(browser: Any, width: int, outside: list[str]) -> Any:
    page = await browser.new_page(viewport={"width": width, "height": 900})

    async def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_loopback)
    return page


async def _sign_in(page: Any, url: str, token: str) -> None:
    await page.goto(f"{url}/")  # the root leads to /dashboard
    await page.fill("#token", token)
    await page.click("#signin-form button[type=submit]")


def _text(value: str | None) -> str:
    return (value or "").replace("\xa0", " ").strip()


async def _figure(page: Any, name: str) -> str:
    return _text(await page.text_content(f'[data-figure="{name}"]'))


def _bi(url: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{url}/api/v1/analytics/business-intelligence",
        params={"providers": 10},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    answer.raise_for_status()
    return dict(answer.json())


def _expected(bi: dict[str, Any]) -> dict[str, str]:
    return {
        "revenue.gross_ars": ars(bi["revenue"]["gross_ars"]),
        "revenue.net_ars": ars(bi["revenue"]["net_ars"]),
        "revenue.payments_approved": number(bi["revenue"]["payments_approved"]),
        "funnel.units": number(bi["funnel"]["units"]),
        "engagement.sessions": number(bi["engagement"]["sessions"]),
    }


async def _shown(page: Any) -> dict[str, str]:
    return {name: await _figure(page, name) for name in _expected(_EMPTY_BI)}


_EMPTY_BI: dict[str, Any] = {
    "revenue": {"gross_ars": 0, "net_ars": 0, "payments_approved": 0},
    "funnel": {"units": 0},
    "engagement": {"sessions": 0},
}


async def test_page_is_live_and_equals_the_api_at_both_widths(server: str, browser: Any) -> None:
    outside: list[str] = []
    pages = {width: await _page(browser, width, outside) for width in (1280, 390)}
    for page in pages.values():
        await _sign_in(page, server, TOKEN)
        await page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        assert page.url.endswith("/dashboard")
        assert TOKEN not in page.url
        assert await page.evaluate("sessionStorage.getItem('barberpro.admin-token')") == TOKEN
        assert TOKEN not in await page.content()
        await page.evaluate("window.__sameDocument = true")
        # Before any traffic: readable empty states, the figures the API answers.
        assert await page.is_visible("#revenue-empty")
        assert "No payments yet" in _text(await page.text_content("#revenue-empty"))
        assert await _shown(page) == _expected(_bi(server))

    sent = await asyncio.to_thread(
        subprocess.run,
        [BARBERPRO, "simulate", "--url", server, "--token", TOKEN, "--duration", "6",
         "--rate", "40", "--sockets", "0", "--seed", "7"],
        capture_output=True, text=True, timeout=120, env=server_env(), check=False,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    expected = _expected(_bi(server))
    assert expected["revenue.payments_approved"] != "0"  # the simulation paid for bookings

    ARTIFACTS.mkdir(exist_ok=True)
    for width, page in pages.items():
        # The page re-reads the business report on the pushes: no reload, the same figures.
        await page.wait_for_function(
            "expected => document.querySelector('[data-figure=\"revenue.payments_approved\"]')"
            ".textContent.trim() === expected",
            arg=expected["revenue.payments_approved"],
            timeout=20_000,
        )
        assert await _shown(page) == expected
        assert await page.evaluate("window.__sameDocument") is True
        assert int(await page.evaluate("document.body.dataset.updates")) > 1
        assert re.fullmatch(r"[\d.]+(,\d+)? ms", await _figure(page, "http.p95_ms"))
        assert await page.is_hidden("#revenue-empty")
        assert _text(await page.text_content("#live")) == "live"
        rows = await page.locator("#funnel tbody tr").count()
        assert rows == 5
        if width == 390:  # fits a phone: nothing wider than the viewport
            scroll = await page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= 390
        await page.screenshot(path=str(ARTIFACTS / f"dashboard-{width}.png"), full_page=True)
    assert outside == []


async def test_a_wrong_token_shows_an_error_not_data(server: str, browser: Any) -> None:
    outside: list[str] = []
    page = await _page(browser, 1280, outside)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(urlsplit(request.url).path))
    await _sign_in(page, server, "not-the-token")
    await page.wait_for_selector("#signin-error:not([hidden])", timeout=10_000)
    assert "refused" in _text(await page.text_content("#signin-error"))
    assert await page.is_hidden("#board")
    assert await page.evaluate("sessionStorage.getItem('barberpro.admin-token')") is None
    assert "/api/v1/analytics/business-intelligence" not in asked
    assert outside == []


def test_the_page_has_a_strict_policy_and_no_inline_script(server: str) -> None:
    answer = httpx.get(f"{server}/dashboard", timeout=10)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    html = answer.text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # every script is a file
    assert re.findall(r"\bon[a-z]+=", html) == []  # no inline handlers
    assert re.findall(r"(?:src|href)=\"https?://", html) == []  # nothing from elsewhere
    for name in ("dashboard.js", "vendor/chart.umd.min.js", "vendor/socket.io.min.js"):
        assert httpx.get(f"{server}/static/dashboard/{name}", timeout=10).status_code == 200
    assert httpx.get(f"{server}/", timeout=10).headers["location"] == "/dashboard"
    # A form submitted before its script runs must not carry the token in a URL: its field has
    # no name, and it posts; the page exists only at /dashboard, with its headers.
    assert 'name="token"' not in html
    assert 'method="post"' in html
    assert httpx.get(f"{server}/static/dashboard/dashboard.html", timeout=10).status_code == 404
