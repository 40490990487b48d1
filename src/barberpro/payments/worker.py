"""The worker inside the service: claims due notifications, processes them, records the outcome.

One processing attempt of a claimed notification fetches the payment (or chargeback) from
MercadoPago and submits its revenue event to the analytics writer; then its row is finished:
done, back to pending after a backoff, or dead-lettered after ``max_attempts``. Each attempt is
reported once to the monitoring layer (success or failure, latency, HTTP status).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

import structlog

from barberpro.analytics import ingest, rows, schemas
from barberpro.payments.backoff import backoff_delay
from barberpro.payments.breaker import CircuitState
from barberpro.payments.mercadopago import payload
from barberpro.payments.mercadopago.client import (
    PROVIDER,
    CircuitOpenError,
    MercadoPagoClient,
    NotFoundError,
    PermanentError,
    TransientError,
)
from barberpro.payments.queue import Notification, NotificationQueue

log = structlog.get_logger(__name__)

CHARGEBACK_TOPIC = "chargebacks"
PAYMENT_TOPIC = "payment"


class WebhookRecorder(Protocol):
    """Where each processing attempt is told (the monitoring's webhook tracker)."""

    def record(
        self,
        *,
        provider: str,
        event_type: str,
        success: bool,
        processing_ms: float,
        http_status: int | None = None,
        error: str | None = None,
        notification_id: str | None = None,
    ) -> None:
        """Record one processed webhook."""
        ...

    def dead_lettered(self, *, provider: str, reason: str) -> None:
        """Count one notification put on the dead-letter list, by reason."""
        ...

    def rejected(self, *, provider: str, reason: str) -> None:
        """Count one webhook refused for its signature, by reason."""
        ...


class DeadReason(StrEnum):
    """Why a notification is on the dead-letter list (the first word of its last error)."""

    NOT_FOUND = "not_found"  # MercadoPago kept answering 404 for the resource
    REFUSED = "refused"  # the API refused the request (401, 403, 400)
    UNUSABLE = "unusable_payload"  # the answer cannot become a revenue event
    ATTEMPTS = "attempts_exhausted"  # transient failures until max_attempts


class Fate(StrEnum):
    """What one processing attempt decided."""

    DONE = "done"
    RETRY = "retry"  # a failure worth another attempt
    DEFERRED = "deferred"  # the breaker refused: try again when it allows, attempt refunded
    DEAD = "dead"  # retrying cannot help: straight to the dead-letter list


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one processing attempt."""

    fate: Fate
    http_status: int | None = None
    error: str | None = None
    wait_s: float | None = None  # the server's Retry-After, or the breaker's next trial
    events: int = 0  # revenue events submitted
    stored: int = 0  # of which new (the others were already stored: counted once)
    reason: DeadReason | None = None  # why it failed, for the dead-letter list


class Processor:
    """Turns one notification into revenue events through the client and the analytics writer."""

    def __init__(
        self,
        *,
        client: MercadoPagoClient,
        writer: ingest.EventWriter,
        max_future: timedelta,
        observe: Callable[[rows.Prepared], None] | None = None,
    ) -> None:
        self._client = client
        self._writer = writer
        self._max_future = max_future
        # Told of each newly stored revenue event, as the analytics routes tell the monitoring
        # layer (barberpro_payments_by_method_total); None when there is no one to tell.
        self._observe = observe

    async def process(self, item: Notification) -> Result:
        """Return what became of one processing attempt of ``item`` (never raises)."""
        try:
            return await self._process(item)
        except CircuitOpenError as exc:
            return Result(Fate.DEFERRED, error=str(exc), wait_s=exc.retry_in_s)
        except NotFoundError as exc:
            # Perhaps not visible yet: retried, until the worker's not_found_attempts.
            return Result(
                Fate.RETRY,
                http_status=exc.status,
                error=str(exc),
                wait_s=exc.retry_after_s,
                reason=DeadReason.NOT_FOUND,
            )
        except TransientError as exc:
            return Result(
                Fate.RETRY, http_status=exc.status, error=str(exc), wait_s=exc.retry_after_s
            )
        except PermanentError as exc:
            return Result(
                Fate.DEAD, http_status=exc.status, error=str(exc), reason=DeadReason.REFUSED
            )
        except (payload.PayloadError, rows.EventTimeError) as exc:
            return Result(Fate.DEAD, http_status=200, error=str(exc), reason=DeadReason.UNUSABLE)
        except ingest.WriterUnavailable as exc:
            return Result(Fate.RETRY, http_status=200, error=f"analytics writer: {exc}")
        except Exception as exc:  # a bug must not kill the worker; the row is retried
            log.exception("mercadopago notification failed", notification=item.id)
            return Result(Fate.RETRY, error=f"{exc.__class__.__name__}: {exc}")

    async def _process(self, item: Notification) -> Result:
        if item.topic == PAYMENT_TOPIC:
            answer = await self._client.get_payment(item.resource_id)
            events = [payload.revenue(answer.body)]
            status = answer.status
        elif item.topic == CHARGEBACK_TOPIC:
            status, events = await self._chargeback(item.resource_id)
        else:
            return Result(Fate.DONE)
        now = datetime.now(UTC)
        prepared = [rows.prepare(e, now=now, max_future=self._max_future) for e in events]
        outcomes = await self._writer.submit(prepared)
        stored = sum(o is ingest.Outcome.STORED for o in outcomes)
        if self._observe is not None:
            for event, outcome in zip(prepared, outcomes, strict=True):
                if outcome is ingest.Outcome.STORED:
                    self._tell(self._observe, event)
        if any(o is ingest.Outcome.CONFLICT for o in outcomes):
            # Same payment state, different fields: MercadoPago changed a payment without
            # touching date_last_updated. The first version stays; say so, do not loop on it.
            log.warning("mercadopago payment state stored before with other fields", row=item.id)
        return Result(Fate.DONE, http_status=status, events=len(events), stored=stored)

    @staticmethod
    def _tell(observe: Callable[[rows.Prepared], None], item: rows.Prepared) -> None:
        try:
            observe(item)
        except Exception as exc:  # monitoring must never break payments
            log.warning("revenue observer failed", error=repr(exc))

    async def _chargeback(self, chargeback_id: str) -> tuple[int, list[schemas.Revenue]]:
        answer = await self._client.get_chargeback(chargeback_id)
        payment_ids = payload.chargeback_payment_ids(answer.body)
        if not payment_ids:
            raise payload.PayloadError(f"chargeback {chargeback_id} names no payment")
        at = answer.body.get("date_created") or answer.body.get("date_last_updated")
        events = []
        for payment_id in payment_ids:
            found = await self._client.get_payment(payment_id)
            if found.body.get("status") == "charged_back":
                events.append(payload.revenue(found.body))
            else:
                # MercadoPago may still show the payment approved: the chargeback decides.
                at_text = at if isinstance(at, str) else None
                events.append(payload.revenue(found.body, status="charged_back", at=at_text))
        return answer.status, events


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How the worker runs (values from Settings)."""

    concurrency: int = 8
    lease_s: float = 120.0
    poll_s: float = 1.0
    max_attempts: int = 8
    # A resource MercadoPago answers 404 for this many times is dead-lettered as not_found.
    not_found_attempts: int = 3
    retry_base_s: float = 5.0
    retry_cap_s: float = 900.0
    stop_grace_s: float = 5.0
    stats_every_s: float = 2.0


class Worker:
    """Runs the claim-process-finish loop as one asyncio task with bounded concurrency."""

    def __init__(
        self,
        *,
        queue: NotificationQueue,
        processor: Processor,
        client: MercadoPagoClient,
        config: WorkerConfig,
        recorder: WebhookRecorder | None = None,
        rand: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue = queue
        self.processor = processor
        self._client = client
        self._config = config
        # What the worker claims at once: the configured concurrency, lowered and raised back
        # by the optimization engine as MercadoPago's latency and 429s say (AIMD).
        self.concurrency = config.concurrency
        self._rand = rand
        self._monotonic = monotonic
        self.recorder = recorder
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[str, tuple[Notification, asyncio.Task[None]]] = {}
        self._counts_at = float("-inf")
        self.counts: dict[str, int] = {}
        self.processed = 0  # attempts that ended done
        self.failed_attempts = 0  # attempts that ended otherwise
        self.dead_lettered = 0

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Look for work now (a notification was just stored)."""
        self._wake.set()

    async def start(self) -> None:
        """Start the loop."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="barberpro-mercadopago-worker")

    async def stop(self) -> None:
        """Stop claiming; let in-flight attempts finish for a grace period, release the rest."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        tasks = [task for _, task in self._inflight.values()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self._config.stop_grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for item, _ in list(self._inflight.values()):
            # Cut off mid-attempt: due again at once, the attempt given back.
            with contextlib.suppress(Exception):
                await self._queue.release(item)
        self._inflight.clear()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            limit = self._claim_limit()
            try:
                claimed = await self._queue.claim(limit, lease_s=self._config.lease_s)
            except Exception as exc:  # the database may be briefly unreachable
                log.warning("mercadopago queue claim failed", error=repr(exc))
                claimed = []
                await asyncio.sleep(self._config.poll_s)
            for item in claimed:
                task = asyncio.create_task(self._handle(item), name=f"mercadopago-{item.id}")
                self._inflight[item.id] = (item, task)
            await self._refresh_counts()
            if claimed and len(claimed) == limit and self._claim_limit() > 0:
                continue  # a full claim: more may be due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_wait())

    def _claim_limit(self) -> int:
        state = self._client.breaker.state
        if state is CircuitState.OPEN:
            return 0
        if state is CircuitState.HALF_OPEN:
            # One trial call decides; claim one row for it when nothing else is out.
            return 0 if self._inflight or self._client.breaker.trial_in_flight() else 1
        return self.concurrency - len(self._inflight)

    def _idle_wait(self) -> float:
        retry_at = self._client.breaker.retry_at()
        if retry_at is not None and self._client.breaker.state is CircuitState.OPEN:
            return max(0.01, min(self._config.poll_s, retry_at - self._monotonic()))
        return self._config.poll_s

    async def _refresh_counts(self) -> None:
        """Re-read the queue's counts every few seconds (the Prometheus gauges show them)."""
        now = self._monotonic()
        if now - self._counts_at >= self._config.stats_every_s:
            self._counts_at = now
            try:
                self.counts = await self._queue.counts()
            except Exception as exc:
                log.warning("mercadopago queue counts failed", error=repr(exc))

    async def _handle(self, item: Notification) -> None:
        started = self._monotonic()
        result = await self.processor.process(item)
        elapsed_ms = (self._monotonic() - started) * 1000
        try:
            await self._finish(item, result)
        except Exception as exc:
            # The lease runs out and another attempt follows; nothing is lost.
            log.warning("mercadopago notification not finished", row=item.id, error=repr(exc))
        finally:
            self._inflight.pop(item.id, None)
            self._wake.set()
        self._record(item, result, elapsed_ms)

    async def _finish(self, item: Notification, result: Result) -> None:
        config = self._config
        if result.fate is Fate.DONE:
            self.processed += 1
            await self._queue.complete(item, http_status=result.http_status)
            return
        self.failed_attempts += 1
        error = result.error or result.fate.value
        log.warning(
            "mercadopago notification attempt failed",
            **_named(item),
            attempt=item.attempts,
            fate=result.fate.value,
            http_status=result.http_status,
            reason=error,
        )
        if result.fate is Fate.DEFERRED:
            # Spread the deferred rows over a second after the breaker's next trial.
            wait = (result.wait_s or 0.0) + self._rand() * min(1.0, config.retry_base_s)
            await self._queue.retry_later(
                item, delay_s=wait, error=error, http_status=None, refund_attempt=True
            )
            return
        reason = result.reason
        if reason is DeadReason.NOT_FOUND and item.attempts < config.not_found_attempts:
            reason = None  # not yet: MercadoPago may not show a new payment at once
        elif reason is None and item.attempts >= config.max_attempts:
            reason = DeadReason.ATTEMPTS
        if result.fate is Fate.DEAD or reason is not None or item.attempts >= config.max_attempts:
            reason = reason or DeadReason.ATTEMPTS
            self.dead_lettered += 1
            log.warning(
                "mercadopago notification dead-lettered",
                **_named(item),
                attempts=item.attempts,
                reason=reason.value,
                error=error,
            )
            await self._queue.dead_letter(
                item, error=f"{reason.value}: {error}", http_status=result.http_status
            )
            if self.recorder is not None:
                self.recorder.dead_lettered(provider=PROVIDER, reason=reason.value)
            return
        delay = backoff_delay(
            item.attempts,
            base_s=config.retry_base_s,
            cap_s=config.retry_cap_s,
            rand=self._rand,
            retry_after_s=result.wait_s,
        )
        await self._queue.retry_later(
            item, delay_s=delay, error=error, http_status=result.http_status
        )

    def _record(self, item: Notification, result: Result, elapsed_ms: float) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder.record(
                provider=PROVIDER,
                event_type=item.topic,
                success=result.fate is Fate.DONE,
                processing_ms=elapsed_ms,
                http_status=result.http_status,
                error=None if result.fate is Fate.DONE else result.error,
                notification_id=item.notification_id,
            )
        except Exception as exc:  # monitoring must never break payments
            log.warning("webhook record failed", error=repr(exc))


def _named(item: Notification) -> dict[str, str]:
    """What names a notification in a log line (never its body)."""
    return {
        "notification": item.notification_id,
        "row": item.id,
        "topic": item.topic,
        "resource": item.resource_id,
    }
