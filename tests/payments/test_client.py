"""The MercadoPago client: retries, Retry-After, breaker, errors; HTTP through MockTransport."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from barberpro.payments.breaker import CircuitBreaker, CircuitState
from barberpro.payments.mercadopago.client import (
    CircuitOpenError,
    MercadoPagoClient,
    NotFoundError,
    PermanentError,
    RetryPolicy,
    TransientError,
    retry_after_seconds,
)

PAYMENT = {"id": 42, "status": "approved"}


class Clock:
    """Monotonic time that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _client(
    answers: list[httpx.Response | Exception],
    *,
    clock: Clock,
    attempts: int = 3,
    threshold: int = 5,
    seen: list[httpx.Request] | None = None,
) -> MercadoPagoClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return MercadoPagoClient(
        base_url="http://mp.test",
        access_token="TEST-token",
        timeout_s=1,
        policy=RetryPolicy(attempts=attempts, base_s=0.5, cap_s=4),
        breaker=CircuitBreaker(failure_threshold=threshold, reset_s=30, clock=clock),
        breaker_clock=clock,
        rand=lambda: 0.0,
        sleep=clock.sleep,
        transport=httpx.MockTransport(handler),
    )


async def test_get_payment_sends_the_bearer_token() -> None:
    """GET /v1/payments/{id} with Authorization: Bearer <access token>."""
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(200, json=PAYMENT)], clock=Clock(), seen=seen)
    answer = await client.get_payment("42")
    await client.close()
    assert answer.body == PAYMENT
    assert answer.status == 200
    assert seen[0].url == "http://mp.test/v1/payments/42"
    assert seen[0].headers["authorization"] == "Bearer TEST-token"


async def test_transient_failures_are_retried_with_growing_waits() -> None:
    """A timeout, a 502 and then 200: two retries, waits of step/2 for attempts 1 and 2."""
    clock = Clock()
    client = _client(
        [httpx.ReadTimeout("slow"), httpx.Response(502), httpx.Response(200, json=PAYMENT)],
        clock=clock,
    )
    assert (await client.get_payment("42")).body == PAYMENT
    assert clock.sleeps == [0.25, 0.5]
    assert client.breaker.consecutive_failures == 0


async def test_retry_after_is_honoured() -> None:
    """A 429 with Retry-After: 3 waits 3 s, more than the backoff would."""
    clock = Clock()
    answers: list[httpx.Response | Exception] = [
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(200, json=PAYMENT),
    ]
    client = _client(answers, clock=clock)
    await client.get_payment("42")
    assert clock.sleeps == [3.0]


async def test_a_retry_after_beyond_the_cap_is_left_to_the_queue() -> None:
    """Asked to wait longer than the cap, the call stops and reports the wait."""
    clock = Clock()
    client = _client([httpx.Response(429, headers={"Retry-After": "120"})], clock=clock)
    with pytest.raises(TransientError) as caught:
        await client.get_payment("42")
    assert caught.value.status == 429
    assert caught.value.retry_after_s == 120
    assert clock.sleeps == []


async def test_attempts_run_out_with_the_last_error() -> None:
    """Three 503s: the call raises TransientError carrying 503."""
    client = _client([httpx.Response(503)] * 3, clock=Clock())
    with pytest.raises(TransientError) as caught:
        await client.get_payment("42")
    assert caught.value.status == 503
    assert client.calls == 3
    assert client.failed_calls == 3


async def test_client_errors_are_not_retried() -> None:
    """401 is permanent and 404 is not-found; neither is retried nor opens the breaker."""
    clock = Clock()
    client = _client(
        [httpx.Response(401, json={"message": "invalid access token"}), httpx.Response(404)],
        clock=clock,
    )
    with pytest.raises(PermanentError, match="invalid access token"):
        await client.get_payment("42")
    with pytest.raises(NotFoundError):
        await client.get_payment("43")
    assert clock.sleeps == []
    assert _state(client.breaker) is CircuitState.CLOSED


async def test_the_breaker_opens_and_stops_calls() -> None:
    """After the threshold the breaker refuses without a request; one trial after the reset."""
    clock = Clock()
    seen: list[httpx.Request] = []
    answers: list[httpx.Response | Exception] = [httpx.ConnectError("refused")] * 4
    client = _client(
        [*answers, httpx.Response(200, json=PAYMENT)],
        clock=clock,
        attempts=2,
        threshold=4,
        seen=seen,
    )
    for _ in range(2):
        with pytest.raises(TransientError):
            await client.get_payment("42")
    assert _state(client.breaker) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as caught:
        await client.get_payment("42")
    assert caught.value.retry_in_s == pytest.approx(30)  # opened at the last failure
    assert len(seen) == 4
    clock.now += 30
    assert (await client.get_payment("42")).body == PAYMENT
    assert _state(client.breaker) is CircuitState.CLOSED


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("  2.5 ", 2.5),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_header_forms(header: str | None, expected: float | None) -> None:
    """Retry-After in seconds or as an HTTP date, relative to now."""
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert retry_after_seconds(header, now=now) == expected


def _state(breaker: CircuitBreaker) -> CircuitState:
    """The breaker's state, read afresh (a call, so type checkers do not pin it)."""
    return breaker.state
