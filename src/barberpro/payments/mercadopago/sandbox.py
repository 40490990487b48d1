"""A local stand-in of MercadoPago's payments API, for tests, the simulator and demos offline.

It answers ``GET /v1/payments/{id}`` and ``GET /v1/chargebacks/{id}`` in MercadoPago's JSON
format (numeric ids, statuses and status_detail, ARS amounts, Argentine payment methods,
installments, fee_details with the marketplace's application_fee). Any numeric id is a payment:
it is made up from the id the first time it is asked for (the same id always gives the same
payment) and kept, so its dates stay put until its status is changed.

The control API under ``/_sandbox`` injects faults and drives the story:

- ``POST /_sandbox/faults`` ``{"latency_ms", "error_rate", "rate_limit_rate", "retry_after_s",
  "seed"}``: delay every API answer; answer 5xx or 429 (with Retry-After) at those rates.
- ``POST /_sandbox/outage`` ``{"seconds": 5}``: answer 503 to every API call for a while
  (``{"seconds": 0}`` ends it).
- ``PUT /_sandbox/payments/{id}`` ``{"status": "refunded", ...}``: change a payment (its
  date_last_updated moves to now); ``POST /_sandbox/chargebacks`` ``{"payment_id"}``.
- ``POST /_sandbox/webhooks`` ``{"url", "data_id", "topic"}``: send a signed webhook to ``url``.
- ``GET /_sandbox/payments/{id}``: the payment as held, with ``fetched_since_change`` (how many
  times the API served it since it last changed: the simulator waits for one before it changes
  a payment again, so no state goes unseen).
- ``GET /_sandbox/state``: faults and counters; ``POST /_sandbox/reset``.

Serve it with ``barberpro mp-sandbox --port 8090`` or, in tests, :func:`serving`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from barberpro.payments.mercadopago import signature
from barberpro.payments.mercadopago.sandbox_data import (
    STATUS_DETAIL,
    invent_payment,
    make_chargeback,
    mp_time,
)


@dataclass(slots=True)
class Faults:
    """What the stand-in does wrong on purpose."""

    latency_ms: float = 0.0
    error_rate: float = 0.0  # share of API calls answered 500/502/503
    rate_limit_rate: float = 0.0  # share answered 429 with Retry-After
    retry_after_s: int = 1
    seed: int | None = None


class Sandbox:
    """The stand-in's state and its ASGI app (``.app``)."""

    def __init__(
        self,
        *,
        access_token: str | None = None,
        webhook_secret: str | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self._seed = seed
        self._clock = clock
        self._monotonic = monotonic
        self.faults = Faults()
        # Payment ids answered 404, as for a payment of another account or environment.
        self.unknown: set[str] = set()
        self._rng = random.Random(seed)
        self._outage_until = 0.0
        self.payments: dict[str, dict[str, Any]] = {}
        self.chargebacks: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()  # by outcome
        self.served: Counter[str] = Counter()  # 200 answers per payment id
        self.fresh: Counter[str] = Counter()  # 200 answers per payment id since its last change
        self._ids = itertools.count(20_000_000_000 + seed * 1_000_000)
        self.app = Starlette(routes=self._routes())

    # --- the MercadoPago API -------------------------------------------------------------------

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        """Return the payment of a numeric id, made up on first sight; None for other ids."""
        if not payment_id.isdigit() or len(payment_id) > 19 or payment_id in self.unknown:
            return None
        found = self.payments.get(payment_id)
        if found is None:
            found = invent_payment(int(payment_id), seed=self._seed, now=self._clock())
            self.payments[payment_id] = found
        return found

    def set_payment(self, payment_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Change a payment's fields; a new status brings its status_detail and dates along."""
        found = self.payment(payment_id)
        if found is None:
            return None
        found.update(changes)
        status = changes.get("status")
        now = mp_time(self._clock())
        if status is not None:
            if "status_detail" not in changes:
                found["status_detail"] = STATUS_DETAIL.get(str(status), str(status))
            if status == "approved" and not found.get("date_approved"):
                found["date_approved"] = now
            if status in {"pending", "in_process", "rejected", "cancelled"}:
                found["date_approved"] = None
            if status == "refunded":
                found["transaction_amount_refunded"] = found["transaction_amount"]
                found["refunds"] = [
                    {
                        "id": next(self._ids),
                        "payment_id": found["id"],
                        "amount": found["transaction_amount"],
                        "date_created": now,
                        "status": "approved",
                    }
                ]
        if "date_last_updated" not in changes:
            found["date_last_updated"] = now
        self.fresh[payment_id] = 0
        return found

    def add_chargeback(self, payment_id: str, *, update_payment: bool = False) -> dict[str, Any]:
        """Open a chargeback on a payment; with ``update_payment`` its status follows at once."""
        found = self.payment(payment_id)
        if found is None:
            raise KeyError(payment_id)
        chargeback = make_chargeback(found, chargeback_id=next(self._ids), now=self._clock())
        self.chargebacks[chargeback["id"]] = chargeback
        if update_payment:
            self.set_payment(payment_id, {"status": "charged_back"})
        return chargeback

    async def _api(self, request: Request) -> Response:
        failure = await self._fault(request)
        if failure is not None:
            return failure
        kind = request.path_params["kind"]
        resource = str(request.path_params["resource_id"])
        found = self.payment(resource) if kind == "payments" else self.chargebacks.get(resource)
        if found is None:
            self.requests["404"] += 1
            name = "Payment" if kind == "payments" else "Chargeback"
            return _mp_error(404, "not_found", f"{name} not found", code=2000)
        self.requests["200"] += 1
        if kind == "payments":
            self.served[resource] += 1
            self.fresh[resource] += 1
        return JSONResponse(found)

    async def _fault(self, request: Request) -> Response | None:
        if self.access_token is not None:
            header = request.headers.get("authorization", "")
            if header != f"Bearer {self.access_token}":
                self.requests["401"] += 1
                return _mp_error(401, "unauthorized", "invalid access token")
        if self._monotonic() < self._outage_until:
            self.requests["outage"] += 1
            return _mp_error(503, "service_unavailable", "Service Unavailable")
        faults = self.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        roll = self._rng.random()
        if roll < faults.error_rate:
            status = self._rng.choice((500, 502, 503))
            self.requests["5xx"] += 1
            return _mp_error(status, "internal_error", "Internal server error")
        if roll < faults.error_rate + faults.rate_limit_rate:
            self.requests["429"] += 1
            return _mp_error(
                429,
                "too_many_requests",
                "Too many requests",
                headers={"Retry-After": str(faults.retry_after_s)},
            )
        return None

    # --- control API ---------------------------------------------------------------------------

    def outage(self, seconds: float) -> None:
        """Answer 503 to every API call for ``seconds`` from now (0 ends an outage)."""
        self._outage_until = self._monotonic() + seconds if seconds > 0 else 0.0

    def set_faults(self, **changes: Any) -> Faults:
        """Change the injected faults; a ``seed`` restarts their random sequence."""
        for name, value in changes.items():
            if not hasattr(self.faults, name):
                raise ValueError(f"unknown fault {name!r}")
            setattr(self.faults, name, value)
        if changes.get("seed") is not None:
            self._rng = random.Random(changes["seed"])
        return self.faults

    def state(self) -> dict[str, Any]:
        """Return the faults and counters."""
        return {
            "faults": asdict(self.faults),
            "outage_s": max(0.0, self._outage_until - self._monotonic()),
            "requests": dict(self.requests),
            "payments": len(self.payments),
            "payments_served": sum(self.served.values()),
            "chargebacks": len(self.chargebacks),
        }

    def reset(self) -> None:
        """Forget payments, chargebacks, faults and counters."""
        self.faults = Faults()
        self._rng = random.Random(self._seed)
        self._outage_until = 0.0
        self.payments.clear()
        self.chargebacks.clear()
        self.requests.clear()
        self.served.clear()
        self.fresh.clear()
        self.unknown.clear()

    def webhook(
        self,
        *,
        data_id: str,
        topic: str = "payment",
        action: str | None = None,
        request_id: str | None = None,
        ts: str | None = None,
        notification_id: int | None = None,
        secret: str | None = None,
    ) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
        """Return (query, headers, body) of a webhook as MercadoPago sends it, signed."""
        request_id = request_id or str(uuid.uuid4())
        ts = ts or str(int(self._clock() * 1000))
        body = {
            "action": action or ("payment.updated" if topic == "payment" else f"{topic}.updated"),
            "api_version": "v1",
            "data": {"id": data_id},
            "date_created": mp_time(self._clock()),
            "id": notification_id if notification_id is not None else next(self._ids),
            "live_mode": False,
            "type": topic,
            "user_id": 1_234_567_890,
        }
        headers = {"x-request-id": request_id, "content-type": "application/json"}
        key = secret if secret is not None else self.webhook_secret
        if key is not None:
            headers["x-signature"] = signature.header_value(
                key, data_id=data_id, request_id=request_id, ts=ts
            )
        return {"data.id": data_id, "type": topic}, headers, body

    async def send_webhook(
        self, url: str, *, client: httpx.AsyncClient | None = None, **options: Any
    ) -> httpx.Response:
        """POST a signed webhook to ``url`` (options as in :meth:`webhook`)."""
        query, headers, body = self.webhook(**options)
        if client is not None:
            return await client.post(url, params=query, headers=headers, json=body)
        async with httpx.AsyncClient(timeout=10.0) as own:
            return await own.post(url, params=query, headers=headers, json=body)

    async def _control(self, request: Request) -> Response:
        action = request.path_params["action"]
        data = await _json(request)
        if action == "faults":
            try:
                return JSONResponse(asdict(self.set_faults(**data)))
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=422)
        if action == "outage":
            self.outage(float(data.get("seconds", 0)))
            return JSONResponse(self.state())
        if action == "reset":
            self.reset()
            return JSONResponse(self.state())
        if action == "chargebacks":
            try:
                chargeback = self.add_chargeback(
                    str(data["payment_id"]), update_payment=bool(data.get("update_payment"))
                )
            except KeyError:
                return JSONResponse({"error": "unknown payment_id"}, status_code=404)
            return JSONResponse(chargeback, status_code=201)
        if action == "webhooks":
            url = data.pop("url", None)
            if not url or "data_id" not in data:
                return JSONResponse({"error": "url and data_id are required"}, status_code=422)
            data["data_id"] = str(data["data_id"])
            try:
                response = await self.send_webhook(url, **data)
            except httpx.HTTPError as exc:
                return JSONResponse({"error": f"{exc.__class__.__name__}: {exc}"}, status_code=502)
            return JSONResponse({"status": response.status_code, "body": response.text[:2000]})
        return JSONResponse({"error": f"unknown control {action!r}"}, status_code=404)

    async def _put_payment(self, request: Request) -> Response:
        changes = await _json(request)
        found = self.set_payment(str(request.path_params["payment_id"]), changes)
        if found is None:
            return JSONResponse({"error": "payment ids are numeric"}, status_code=404)
        return JSONResponse(found)

    async def _get_payment(self, request: Request) -> Response:
        payment_id = str(request.path_params["payment_id"])
        found = self.payments.get(payment_id)
        if found is None:
            return JSONResponse({"error": "no such payment held"}, status_code=404)
        return JSONResponse({**found, "fetched_since_change": self.fresh[payment_id]})

    async def _state(self, _request: Request) -> Response:
        return JSONResponse(self.state())

    def _routes(self) -> list[Route]:
        return [
            Route("/v1/{kind:str}/{resource_id:str}", self._api_or_404, methods=["GET"]),
            Route("/_sandbox/state", self._state, methods=["GET"]),
            Route("/_sandbox/payments/{payment_id:str}", self._put_payment, methods=["PUT"]),
            Route("/_sandbox/payments/{payment_id:str}", self._get_payment, methods=["GET"]),
            Route("/_sandbox/{action:str}", self._control, methods=["POST"]),
        ]

    async def _api_or_404(self, request: Request) -> Response:
        if request.path_params["kind"] not in {"payments", "chargebacks"}:
            return _mp_error(404, "not_found", "resource not found")
        return await self._api(request)


def _mp_error(
    status: int, error: str, message: str, *, code: int | None = None, **kwargs: Any
) -> JSONResponse:
    cause = [{"code": code, "description": message}] if code is not None else []
    body = {"message": message, "error": error, "status": status, "cause": cause}
    return JSONResponse(body, status_code=status, **kwargs)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = await request.json()
    return value if isinstance(value, dict) else {}


@contextlib.asynccontextmanager
async def serving(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on this event loop until the block ends; yield its URL."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="mp-sandbox")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
                raise RuntimeError("the stand-in stopped before it started")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


def run(
    *,
    host: str,
    port: int,
    access_token: str | None,
    webhook_secret: str | None,
    seed: int = 0,
    faults: dict[str, Any] | None = None,
) -> None:
    """Serve the stand-in in the foreground (the ``barberpro mp-sandbox`` command)."""
    import uvicorn

    sandbox = Sandbox(access_token=access_token, webhook_secret=webhook_secret, seed=seed)
    if faults:
        sandbox.set_faults(**faults)
    uvicorn.run(sandbox.app, host=host, port=port, log_level="info", lifespan="off", ws="none")
