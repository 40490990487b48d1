"""Notifiers: the webhook body, its retries, and a dispatcher that never blocks evaluation."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
import pytest

from barberpro.alerts.notify import (
    Dispatcher,
    Notification,
    RealtimeNotifier,
    WebhookNotifier,
    webhook_payload,
)
from tests.alerts.conftest import Recorder

FIRING = Notification(
    status="firing",
    alertname="api_p95_critical",
    severity="critical",
    labels={"alertname": "api_p95_critical", "severity": "critical", "kind": "api_latency"},
    summary="API p95 latency above 200 ms",
    value=251.5,
    threshold=200,
    fingerprint="0123456789abcdef",
    starts_at=1_800_000_000.0,
    ends_at=None,
    at=1_800_000_000.0,
    silenced=False,
    inhibited=False,
    notify=True,
)


def test_payload_has_slack_text_and_alertmanager_alerts() -> None:
    """The body carries a top-level text and one alert in Alertmanager's webhook shape."""
    body = webhook_payload(FIRING)
    assert body["text"].startswith(":rotating_light: [FIRING] CRITICAL api_p95_critical")
    assert body["status"] == "firing"
    assert body["version"] == "4"
    (alert,) = body["alerts"]
    assert alert["labels"]["alertname"] == "api_p95_critical"
    assert alert["annotations"]["summary"] == "API p95 latency above 200 ms"
    assert alert["startsAt"] == "2027-01-15T08:00:00.000Z"
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["fingerprint"] == "0123456789abcdef"
    resolved = webhook_payload(
        dataclasses.replace(FIRING, status="resolved", ends_at=1_800_000_060.0)
    )
    assert resolved["alerts"][0]["endsAt"] == "2027-01-15T08:01:00.000Z"
    assert resolved["text"].startswith(":white_check_mark: [RESOLVED]")


async def test_webhook_retries_server_errors_then_delivers() -> None:
    """A 503 then a 200: the notification is delivered on the second attempt."""
    answers = iter([503, 200])
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(next(answers))

    notifier = WebhookNotifier(
        "http://hooks.test/alert", backoff_s=0.001, transport=httpx.MockTransport(handler)
    )
    try:
        await notifier.send(FIRING)
    finally:
        await notifier.aclose()
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]


async def test_webhook_gives_up_after_the_last_attempt_and_skips_client_errors() -> None:
    """Failures past the attempts raise; a 400 is not retried."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500 if request.url.path == "/down" else 400)

    transport = httpx.MockTransport(handler)
    down = WebhookNotifier("http://h.test/down", attempts=3, backoff_s=0.001, transport=transport)
    bad = WebhookNotifier("http://h.test/bad", attempts=3, backoff_s=0.001, transport=transport)
    try:
        with pytest.raises(httpx.HTTPStatusError):
            await down.send(FIRING)
        assert calls == 3
        with pytest.raises(httpx.HTTPStatusError):
            await bad.send(FIRING)
        assert calls == 4
    finally:
        await down.aclose()
        await bad.aclose()


class Stuck:
    """A notifier that never finishes until released."""

    name = "stuck"
    every_transition = False

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def send(self, notification: Notification) -> None:
        """Wait for the test to release it."""
        await self.release.wait()

    async def aclose(self) -> None:
        """Nothing to release."""


async def test_a_stuck_notifier_blocks_neither_submit_nor_the_others() -> None:
    """submit returns at once, and the other notifiers deliver while one hangs."""
    stuck, recorder = Stuck(), Recorder()
    dispatcher = Dispatcher([stuck, recorder], queue_size=2)
    dispatcher.start()
    try:
        for _ in range(5):  # more than the stuck queue holds: extras are dropped, not awaited
            dispatcher.submit(FIRING)
        for _ in range(100):
            if len(recorder.sent) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(recorder.sent) == 2  # the queue held two; the rest were dropped
    finally:
        stuck.release.set()
        await dispatcher.stop(grace_s=1)


async def test_only_every_transition_notifiers_get_muted_changes() -> None:
    """A muted change reaches the Socket.IO push but not the paging notifiers."""
    pushed: list[tuple[str, dict[str, object], str | None]] = []

    async def emit(event: str, data: dict[str, object], room: str | None = None) -> None:
        pushed.append((event, data, room))

    pager = Recorder()
    dispatcher = Dispatcher([pager, RealtimeNotifier(emit)])
    dispatcher.start()
    try:
        dispatcher.submit(_muted())
        await dispatcher.drain()
    finally:
        await dispatcher.stop()
    assert pager.sent == []
    ((event, data, room),) = pushed
    assert (event, room) == ("alert", "alerts")
    assert data["silenced"] is True
    assert data["notified"] is False


def _muted() -> Notification:
    return dataclasses.replace(FIRING, silenced=True, notify=False)
