"""The payments service: the queue, the API client, its breaker and the worker, wired once."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.analytics import ingest, rows
from barberpro.config import Settings
from barberpro.db.groupcommit import GroupCommit
from barberpro.payments import metrics
from barberpro.payments.breaker import CircuitBreaker
from barberpro.payments.mercadopago import signature, webhook
from barberpro.payments.mercadopago.client import PROVIDER, MercadoPagoClient, RetryPolicy
from barberpro.payments.queue import NotificationQueue, Status
from barberpro.payments.worker import Processor, WebhookRecorder, Worker, WorkerConfig

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaymentsConfig:
    """The values the payments service runs with (from Settings, see config.py)."""

    webhook_secret: str | None = None
    access_token: str | None = None
    api_url: str = "https://api.mercadopago.com"
    signature_tolerance_s: float | None = None
    max_body_bytes: int = 1024 * 1024
    max_future: timedelta = timedelta(hours=23)
    http_timeout_s: float = 10.0
    call_policy: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    worker_enabled: bool = True
    worker: WorkerConfig = field(default_factory=WorkerConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentsConfig:
        """Return the payments values of ``settings``."""
        secret = settings.mp_webhook_secret
        token = settings.mp_access_token
        return cls(
            webhook_secret=secret.get_secret_value() if secret else None,
            access_token=token.get_secret_value() if token else None,
            api_url=settings.mp_api_url,
            signature_tolerance_s=settings.mp_signature_tolerance_s,
            max_body_bytes=settings.max_body_bytes,
            max_future=timedelta(hours=settings.max_future_hours),
            http_timeout_s=settings.mp_http_timeout_s,
            call_policy=RetryPolicy(
                attempts=settings.mp_call_attempts,
                base_s=settings.mp_call_backoff_base_s,
                cap_s=settings.mp_call_backoff_cap_s,
            ),
            breaker_failures=settings.mp_breaker_failures,
            breaker_reset_s=settings.mp_breaker_reset_s,
            worker_enabled=settings.mp_worker_enabled,
            worker=WorkerConfig(
                concurrency=settings.mp_worker_concurrency,
                lease_s=settings.mp_lease_s,
                poll_s=settings.mp_poll_s,
                max_attempts=settings.mp_max_attempts,
                not_found_attempts=settings.mp_not_found_attempts,
                retry_base_s=settings.mp_retry_base_s,
                retry_cap_s=settings.mp_retry_cap_s,
            ),
        )


@dataclass(frozen=True, slots=True)
class Received:
    """What the webhook route answers: the stored row, and whether it was seen before."""

    row_id: str
    duplicate: bool


class PaymentsService:
    """Receives MercadoPago notifications and processes them in the background."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        config: PaymentsConfig,
        writer: ingest.EventWriter,
        commits: GroupCommit | None = None,
        recorder: WebhookRecorder | None = None,
        observe: Callable[[rows.Prepared], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._monotonic = monotonic
        self.queue = NotificationQueue(engine, clock=clock, commits=commits)
        self.breaker = CircuitBreaker(
            failure_threshold=config.breaker_failures,
            reset_s=config.breaker_reset_s,
            clock=monotonic,
        )
        self.client = MercadoPagoClient(
            base_url=config.api_url,
            access_token=config.access_token,
            timeout_s=config.http_timeout_s,
            policy=config.call_policy,
            breaker=self.breaker,
            breaker_clock=monotonic,
            rand=rand,
            transport=transport,
        )
        self.worker = Worker(
            queue=self.queue,
            processor=Processor(
                client=self.client, writer=writer, max_future=config.max_future, observe=observe
            ),
            client=self.client,
            config=config.worker,
            recorder=recorder,
            rand=rand,
            monotonic=monotonic,
        )
        self.webhooks: Counter[str] = Counter()  # accepted, duplicate, rejected_<verdict>...
        self.recorder = recorder
        # Read at scrape time; the app adds it to the monitoring's metrics.
        self.collector = metrics.PaymentsCollector(
            counts=lambda: self.worker.counts, breaker=self.breaker
        )

    async def start(self) -> None:
        """Start the API client and the worker (when enabled)."""
        if self.config.worker_enabled:
            await self.client.start()
            await self.worker.start()

    async def stop(self) -> None:
        """Stop the worker (in-flight notifications finish or go back to the queue)."""
        await self.worker.stop()
        await self.queue.close()
        await self.client.close()

    def check_signature(
        self, *, header: str | None, data_id: str | None, request_id: str | None
    ) -> signature.Verdict:
        """Return the verdict on a webhook's signature (VALID when no secret is configured)."""
        secret = self.config.webhook_secret
        if secret is None:
            return signature.Verdict.VALID
        verdict = signature.verify(
            secret,
            header=header,
            data_id=data_id,
            request_id=request_id,
            now=self._clock(),
            tolerance_s=self.config.signature_tolerance_s,
        )
        if not verdict.ok:
            self.webhooks[f"rejected_{verdict.value}"] += 1
            # Never the secret or the header: a leaked signature could be replayed.
            log.warning(
                "mercadopago webhook refused: signature",
                reason=verdict.value,
                request_id=request_id,
                data_id=data_id,
            )
            if self.recorder is not None:
                self.recorder.rejected(provider=PROVIDER, reason=verdict.value)
        return verdict

    async def receive(self, incoming: webhook.Incoming) -> Received:
        """Store a verified notification durably and wake the worker."""
        started = self._monotonic()
        row_id, created = await self.queue.enqueue(
            notification_id=incoming.notification_id,
            request_id=incoming.request_id,
            topic=incoming.topic,
            action=incoming.action,
            resource_id=incoming.resource_id,
            body=incoming.body,
            status=Status.PENDING if incoming.processed else Status.SKIPPED,
        )
        self.webhooks["duplicate" if not created else "accepted"] += 1
        if created and incoming.unfetchable:
            # A resource id MercadoPago never sends (not numeric): stored, never fetched, and
            # no outcome of payment processing.
            self.webhooks["skipped"] += 1
            log.warning(
                "mercadopago webhook skipped: resource id is not numeric",
                notification=incoming.notification_id,
                topic=incoming.topic,
                resource=incoming.resource_id[:64],
            )
        elif created and incoming.processed:
            self.worker.wake()
        elif created and self.recorder is not None:
            # Nothing to fetch for this topic: storing it was the whole processing.
            self.recorder.record(
                provider=PROVIDER,
                event_type=incoming.topic,
                success=True,
                processing_ms=(self._monotonic() - started) * 1000,
                notification_id=incoming.notification_id,
            )
        return Received(row_id=row_id, duplicate=not created)

    async def summary(self) -> dict[str, Any]:
        """Return the payments section of the monitoring dashboard."""
        counts = await self.queue.counts()
        return {
            "provider": PROVIDER,
            "queue_depth": counts[Status.PENDING] + counts[Status.PROCESSING],
            "queue": counts,
            "dead_letters": counts[Status.DEAD],
            "recent_dead_letters": await self.queue.dead_letters(limit=10),
            "circuit": self.circuit(),
            "worker": {
                "running": self.worker.running,
                "processed": self.worker.processed,
                "failed_attempts": self.worker.failed_attempts,
                "dead_lettered": self.worker.dead_lettered,
            },
            "api": {"calls": self.client.calls, "failed_calls": self.client.failed_calls},
            "webhooks": dict(self.webhooks),
        }

    def circuit(self) -> dict[str, Any]:
        """Return the circuit breaker's state; ``retry_in_s`` instead of a monotonic time."""
        snap = self.breaker.snapshot()
        retry_at = snap.pop("retry_at")
        snap["retry_in_s"] = None if retry_at is None else max(0.0, retry_at - self._monotonic())
        return snap
