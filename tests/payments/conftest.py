"""Fixtures of the payments tests: the MercadoPago stand-in served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from barberpro.payments.mercadopago.sandbox import Sandbox, serving

SECRET = "test-webhook-secret"
ACCESS_TOKEN = "TEST-1234567890-access-token"
ADMIN = "admin-token"


@dataclass(slots=True)
class StandIn:
    """The running stand-in: its state and its URL."""

    sandbox: Sandbox
    url: str


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    """The stand-in on a free loopback port, requiring the test access token."""
    sandbox = Sandbox(access_token=ACCESS_TOKEN, webhook_secret=SECRET, seed=7)
    async with serving(sandbox.app) as url:
        yield StandIn(sandbox=sandbox, url=url)


def fast_settings(api_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for a test run: the stand-in, the secrets, retries in tens of milliseconds."""
    values: dict[str, Any] = {
        "mp_api_url": api_url,
        "mp_webhook_secret": SECRET,
        "mp_access_token": ACCESS_TOKEN,
        "mp_retry_base_s": 0.05,
        "mp_retry_cap_s": 0.5,
        "mp_call_backoff_base_s": 0.01,
        "mp_call_backoff_cap_s": 2.0,
        "mp_breaker_reset_s": 0.3,
        "mp_poll_s": 0.05,
        "mp_lease_s": 20,
        "mp_http_timeout_s": 10,
    }
    values.update(overrides)
    return values


async def wait_for(
    check: Callable[[], Awaitable[bool]], *, within_s: float = 20.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within_s:g} s waiting for {what}")
        await asyncio.sleep(0.05)
