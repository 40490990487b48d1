"""Notifiers: structured log, HTTP webhook (Alertmanager shape, Slack-compatible), Socket.IO.

Each notifier has its own queue and worker task, so a slow webhook delays neither the
evaluation nor the other notifiers. Notifications that cannot be queued are dropped and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from barberpro.argentina.timezone import iso_utc

__all__ = [
    "Dispatcher",
    "LogNotifier",
    "Notification",
    "Notifier",
    "RealtimeNotifier",
    "WebhookNotifier",
    "iso",
    "webhook_payload",
]

log = structlog.get_logger(__name__)

# Alertmanager's "no end yet" for firing alerts.
_ZERO_TIME = "0001-01-01T00:00:00Z"


iso = iso_utc  # the alerts' answers and notifications read instants as every answer does


@dataclass(frozen=True, slots=True)
class Notification:
    """An alert's change, as told to notifiers.

    ``status`` is the phase it moved to (firing, resolved; pending and inactive too for the
    notifiers that want every transition). ``notify`` is False when the change must not page
    anyone: muted (silenced or inhibited), or pending/inactive.
    """

    status: str
    alertname: str
    severity: str
    labels: Mapping[str, str]
    summary: str
    value: float | None
    threshold: float
    fingerprint: str
    starts_at: float | None
    ends_at: float | None
    at: float
    silenced: bool
    inhibited: bool
    notify: bool
    detail: str | None = None  # what the value is made of, e.g. "mismatch 31, stale 2"


def _text(n: Notification) -> str:
    icon = ":rotating_light:" if n.status == "firing" else ":white_check_mark:"
    value = "no data" if n.value is None else f"{n.value:.4g}"
    return (
        f"{icon} [{n.status.upper()}] {n.severity.upper()} {n.alertname}: {n.summary} "
        f"(value {value}, threshold {n.threshold:g})" + (f": {n.detail}" if n.detail else "")
    )


def webhook_payload(n: Notification) -> dict[str, Any]:
    """Return the webhook body: Alertmanager's webhook shape plus a ``text`` Slack shows."""
    annotations = {
        "summary": n.summary,
        "value": "" if n.value is None else f"{n.value:.6g}",
        "threshold": f"{n.threshold:g}",
    }
    if n.detail:
        annotations["detail"] = n.detail
    labels = dict(n.labels)
    return {
        "text": _text(n),
        "version": "4",
        "receiver": "barberpro",
        "status": n.status,
        "groupKey": f'{{}}:{{alertname="{n.alertname}"}}',
        "groupLabels": {"alertname": n.alertname},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": n.status,
                "labels": labels,
                "annotations": annotations,
                "startsAt": iso(n.starts_at) or _ZERO_TIME,
                "endsAt": iso(n.ends_at) if n.status == "resolved" else _ZERO_TIME,
                "fingerprint": n.fingerprint,
                "generatorURL": "",
            }
        ],
    }


class Notifier(Protocol):
    """Delivers notifications somewhere; ``send`` may be slow, it runs off the evaluation."""

    name: str
    #: True to get every transition (pending, inactive, muted ones too), not only the pages.
    every_transition: bool

    async def send(self, notification: Notification) -> None:
        """Deliver one notification; raising logs the failure and moves on."""
        ...

    async def aclose(self) -> None:
        """Release what sending holds (an HTTP client); called when the dispatcher stops."""
        ...


class _NothingToClose:
    """For notifiers that hold nothing between notifications."""

    async def aclose(self) -> None:
        """Nothing to release."""


class LogNotifier(_NothingToClose):
    """Writes each notification as a structured log event."""

    name = "log"
    every_transition = False

    async def send(self, notification: Notification) -> None:
        """Log at warning when firing, info when resolved."""
        emit = log.warning if notification.status == "firing" else log.info
        emit(
            "alert notification",
            status=notification.status,
            alertname=notification.alertname,
            severity=notification.severity,
            value=notification.value,
            threshold=notification.threshold,
            fingerprint=notification.fingerprint,
            summary=notification.summary,
        )


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


class WebhookNotifier:
    """POSTs the JSON of :func:`webhook_payload` with a timeout and a few retries."""

    name = "webhook"
    every_transition = False

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._transport = transport
        # Made on the first page and closed by aclose: it belongs to one run of the app.
        self._client: httpx.AsyncClient | None = None

    async def send(self, notification: Notification) -> None:
        """POST the payload; retries transport errors, 429 and 5xx with exponential backoff."""
        body = webhook_payload(notification)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s, transport=self._transport)
        client = self._client
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff_s, max=10),
            retry=retry_if_exception(_retryable),
            reraise=True,
        ):
            with attempt:
                response = await client.post(self._url, json=body)
                response.raise_for_status()

    async def aclose(self) -> None:
        """Close the HTTP client (a later page opens a new one)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


Emit = Callable[..., Awaitable[None]]


class RealtimeNotifier(_NothingToClose):
    """Pushes every transition to the Socket.IO room "alerts" (a live view, not a page)."""

    name = "realtime"
    every_transition = True

    def __init__(self, emit: Emit) -> None:
        self._emit = emit

    async def send(self, notification: Notification) -> None:
        """Emit the event "alert" with the alert's new state and flags."""
        n = notification
        await self._emit(
            "alert",
            {
                "status": n.status,
                "alertname": n.alertname,
                "severity": n.severity,
                "labels": dict(n.labels),
                "summary": n.summary,
                "value": n.value,
                "threshold": n.threshold,
                "detail": n.detail,
                "fingerprint": n.fingerprint,
                "startsAt": iso(n.starts_at),
                "endsAt": iso(n.ends_at),
                "at": iso(n.at),
                "silenced": n.silenced,
                "inhibited": n.inhibited,
                "notified": n.notify,
            },
            room="alerts",
        )


class Dispatcher:
    """Fans notifications out to notifiers, each through its own bounded queue and task."""

    def __init__(self, notifiers: Sequence[Notifier], *, queue_size: int = 1000) -> None:
        self.notifiers = tuple(notifiers)
        self._queues: list[asyncio.Queue[Notification]] = [
            asyncio.Queue(maxsize=queue_size) for _ in self.notifiers
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start one worker task per notifier."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(n, q), name=f"alerts-notify-{n.name}")
                for n, q in zip(self.notifiers, self._queues, strict=True)
            ]

    def submit(self, notification: Notification) -> None:
        """Queue ``notification`` for each notifier that wants it; never waits."""
        for notifier, queue in zip(self.notifiers, self._queues, strict=True):
            if not (notification.notify or notifier.every_transition):
                continue
            try:
                queue.put_nowait(notification)
            except asyncio.QueueFull:
                log.error(
                    "alert notification dropped: queue full",
                    notifier=notifier.name,
                    alertname=notification.alertname,
                    status=notification.status,
                )

    async def drain(self) -> None:
        """Return once every queued notification has been handled."""
        for queue in self._queues:
            await queue.join()

    async def stop(self, *, grace_s: float = 5.0) -> None:
        """Deliver what is queued (up to ``grace_s``), then stop the workers."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), grace_s)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        for notifier in self.notifiers:
            await notifier.aclose()

    async def _work(self, notifier: Notifier, queue: asyncio.Queue[Notification]) -> None:
        while True:
            notification = await queue.get()
            try:
                await notifier.send(notification)
            except Exception as exc:
                log.error(
                    "alert notification failed",
                    notifier=notifier.name,
                    alertname=notification.alertname,
                    status=notification.status,
                    error=f"{exc.__class__.__name__}: {exc}",
                )
            finally:
                queue.task_done()
