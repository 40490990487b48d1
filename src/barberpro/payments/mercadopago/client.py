"""MercadoPago's payments API through httpx: retries with backoff, behind a circuit breaker.

Each call is retried by tenacity on timeouts, connection errors, 429 and 5xx, waiting
:func:`barberpro.payments.backoff.backoff_delay` (never less than a 429's ``Retry-After``).
When the server asks for a longer wait than the call's backoff cap, the call gives up at once
and the caller (the durable queue) schedules the next attempt that far ahead. Every HTTP attempt
is reported to the circuit breaker; while it is open, calls fail with CircuitOpenError without
touching the network.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.stop import stop_after_attempt, stop_any, stop_base

from barberpro.payments.backoff import backoff_delay
from barberpro.payments.breaker import CircuitBreaker

PROVIDER = "mercadopago"


class MercadoPagoError(Exception):
    """A call to MercadoPago failed; ``status`` is the HTTP status when one was answered."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class TransientError(MercadoPagoError):
    """Worth retrying: a timeout, a connection error, 429 or a 5xx."""


class PermanentError(MercadoPagoError):
    """Retrying the same request will not help by itself (401, 403, 400, or a bad payload)."""


class NotFoundError(MercadoPagoError):
    """404: the resource is unknown (perhaps not yet visible); the queue retries it later."""


class CircuitOpenError(MercadoPagoError):
    """The breaker refused the call; MercadoPago was not contacted."""

    def __init__(self, retry_in_s: float) -> None:
        super().__init__(f"circuit open; next trial in {retry_in_s:.2f} s")
        self.retry_in_s = retry_in_s


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one call is retried: attempts in total and the backoff between them."""

    attempts: int = 3
    base_s: float = 0.25
    cap_s: float = 4.0


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return a ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: its HTTP status and JSON object."""

    status: int
    body: dict[str, Any]


class MercadoPagoClient:
    """GETs payments and chargebacks from ``base_url`` with the access token as Bearer."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str | None,
        timeout_s: float,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        breaker_clock: Callable[[], float],
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": "barberpro/payments"}
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._timeout = timeout_s
        self._policy = policy
        self.breaker = breaker
        self._breaker_clock = breaker_clock
        self._rand = rand
        self._sleep = sleep
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self.calls = 0  # HTTP attempts made
        self.failed_calls = 0  # of which transient failures
        self.throttled = 0  # of which 429s
        self.seconds = 0.0  # time spent waiting for answers, summed

    async def start(self) -> None:
        """Open the connection pool."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self._base_url,
                headers=self._headers,
                timeout=self._timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )

    async def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def get_payment(self, payment_id: str) -> Answer:
        """Return ``GET /v1/payments/{id}``."""
        return await self._get(f"/v1/payments/{quote(payment_id, safe='')}")

    async def get_chargeback(self, chargeback_id: str) -> Answer:
        """Return ``GET /v1/chargebacks/{id}``."""
        return await self._get(f"/v1/chargebacks/{quote(chargeback_id, safe='')}")

    async def _get(self, path: str) -> Answer:
        retrying = AsyncRetrying(
            stop=stop_any(
                stop_after_attempt(self._policy.attempts), _AsksTooLong(self._policy.cap_s)
            ),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            reraise=True,
            sleep=self._sleep,
        )
        return await retrying(self._once, path)

    def _wait(self, state: RetryCallState) -> float:
        return backoff_delay(
            state.attempt_number,
            base_s=self._policy.base_s,
            cap_s=self._policy.cap_s,
            rand=self._rand,
            retry_after_s=_retry_after_of(state),
        )

    async def _once(self, path: str) -> Answer:
        if not self.breaker.allow():
            retry_at = self.breaker.retry_at()
            wait = 0.0 if retry_at is None else max(0.0, retry_at - self._breaker_clock())
            raise CircuitOpenError(wait)
        if self._http is None:
            await self.start()
        assert self._http is not None
        self.calls += 1
        began = time.perf_counter()
        try:
            response = await self._http.get(path)
        except httpx.TimeoutException as exc:
            self._failed()
            raise TransientError(f"timeout on GET {path}: {exc.__class__.__name__}") from exc
        except httpx.TransportError as exc:
            self._failed()
            raise TransientError(f"GET {path}: {exc.__class__.__name__}: {exc}") from exc
        finally:
            self.seconds += time.perf_counter() - began
        status = response.status_code
        if status == 429:
            self.throttled += 1
        if status == 429 or status >= 500:
            self._failed()
            raise TransientError(
                f"GET {path} answered {status}",
                status=status,
                retry_after_s=retry_after_seconds(response.headers.get("retry-after")),
            )
        # Any other answer means MercadoPago is up, even a 4xx about this request.
        self.breaker.record_success()
        if status == 404:
            raise NotFoundError(f"GET {path} answered 404: {_message(response)}", status=status)
        if status >= 400:
            raise PermanentError(
                f"GET {path} answered {status}: {_message(response)}", status=status
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"GET {path} answered {status} with invalid JSON") from exc
        if not isinstance(body, dict):
            raise PermanentError(f"GET {path} answered {status} with a non-object JSON body")
        return Answer(status=status, body=body)

    def _failed(self) -> None:
        self.failed_calls += 1
        self.breaker.record_failure()


class _AsksTooLong(stop_base):
    """Stop retrying within the call when the server asks to wait longer than ``cap_s``.

    The durable queue then schedules the next attempt at least that far ahead, instead of a
    worker slot sleeping through it.
    """

    def __init__(self, cap_s: float) -> None:
        self._cap_s = cap_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        asked = _retry_after_of(retry_state)
        return asked is not None and asked > self._cap_s


def _retry_after_of(state: RetryCallState) -> float | None:
    outcome = state.outcome
    if outcome is None or not outcome.failed:
        return None
    exc = outcome.exception()
    return exc.retry_after_s if isinstance(exc, MercadoPagoError) else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])[:200]
    return response.text[:200]
