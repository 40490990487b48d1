"""Payments through MercadoPago: the stand-in holds each payment and sends the signed webhook.

For each state of a payment the checkout puts the whole payment into the stand-in, as
MercadoPago's ``GET /v1/payments/{id}`` answers it (amount, method, cuotas, the marketplace's
``application_fee``, the ``metadata`` that attributes it to its user, session, booking and
barber, ``date_last_updated`` at the state's instant), then has the stand-in send the signed
``payment`` webhook to the service. Before it changes a payment again it waits until the
service has fetched the state before (the stand-in counts the fetches), so every state the
plan meant is seen, as with MercadoPago's own pace of minutes between states.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from barberpro.simulator.stream import ART, Sent

WEBHOOK = "/api/v1/webhooks/mercadopago"
_FETCHED_WITHIN = 15.0  # seconds the service may take to fetch a state before the next one


def mp_time(at: datetime) -> str:
    """An instant as MercadoPago writes it, with the ART offset (to the microsecond)."""
    return at.astimezone(ART).isoformat(timespec="microseconds")


def payment(event: Sent, approved_at: datetime | None) -> dict[str, Any]:
    """The MercadoPago payment of one revenue event's state."""
    body = event.body
    commission = body.get("commission")
    return {
        "id": int(body["payment_id"]),
        "status": body["status"],
        "currency_id": body.get("currency") or "ARS",
        "transaction_amount": float(Decimal(body["amount"])),
        "payment_method_id": body["payment_method"],
        "payment_type_id": body["payment_type"],
        "installments": body.get("installments", 1),
        "external_reference": body.get("booking_id"),
        "metadata": {
            key: body.get(key)
            for key in ("user_id", "session_id", "booking_id", "provider_id", "province")
        },
        "fee_details": []
        if commission is None
        else [{"type": "application_fee", "amount": float(commission), "fee_payer": "collector"}],
        "date_created": mp_time(event.at),
        "date_last_updated": mp_time(event.at),
        "date_approved": mp_time(approved_at) if approved_at is not None else None,
    }


class Checkout:
    """Drives the stand-in at ``sandbox`` for the service at ``service``."""

    def __init__(self, sandbox: str, service: str) -> None:
        self.sandbox = sandbox.rstrip("/")
        self.service = service.rstrip("/")
        self.webhook = self.service + WEBHOOK
        self._client = httpx.AsyncClient(base_url=self.sandbox, timeout=30.0)
        self._locks: dict[str, asyncio.Lock] = {}
        self._approved: dict[str, datetime] = {}
        self._put: set[str] = set()  # payments with a state in the stand-in
        self._counts: Counter[str] = Counter()
        self.failures: list[str] = []

    async def notify(self, event: Sent, *, resend: bool) -> None:
        """Put the state of ``event`` in the stand-in and send its webhook (``resend``: the
        webhook again only, as MercadoPago retries a notification)."""
        pid = str(event.body["payment_id"])
        lock = self._locks.setdefault(pid, asyncio.Lock())
        async with lock:
            try:
                if not resend:
                    await self._wait_fetched(pid)
                    if event.body["status"] == "approved":
                        self._approved.setdefault(pid, event.at)
                    answer = await self._client.put(
                        f"/_sandbox/payments/{pid}", json=payment(event, self._approved.get(pid))
                    )
                    answer.raise_for_status()
                    self._put.add(pid)
                    self._counts["states"] += 1
                sent = await self._client.post(
                    "/_sandbox/webhooks", json={"url": self.webhook, "data_id": pid}
                )
                sent.raise_for_status()
                status = sent.json().get("status")
                self._counts[f"webhook_{status}"] += 1
                if status != 200:
                    self.failures.append(f"webhook for payment {pid}: {sent.json()}")
            except httpx.HTTPError as exc:
                self.failures.append(f"stand-in, payment {pid}: {exc.__class__.__name__}: {exc}")

    async def _wait_fetched(self, pid: str) -> None:
        """Wait until the service has fetched the payment's current state (if it has one)."""
        if pid not in self._put:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _FETCHED_WITHIN
        while loop.time() < deadline:
            answer = await self._client.get(f"/_sandbox/payments/{pid}")
            if answer.status_code == 404 or answer.json().get("fetched_since_change", 1) > 0:
                return
            await asyncio.sleep(0.05)
        self.failures.append(f"payment {pid}: the service did not fetch it within 15 s")

    async def settle(self, token: str | None, *, within: float = 60.0) -> None:
        """Wait until every payment's latest state was fetched and the service's queue is
        empty, then close the stand-in's client."""
        for pid in list(self._locks):
            async with self._locks[pid]:
                await self._wait_fetched(pid)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.service, headers=headers) as service:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while loop.time() < deadline:
                answer = await service.get("/api/v1/payments/status")
                if answer.status_code != 200:
                    self.failures.append(
                        f"/payments/status {answer.status_code}: {answer.text[:200]}"
                    )
                    break
                if answer.json()["queue_depth"] == 0:
                    break
                await asyncio.sleep(0.1)
            else:
                self.failures.append("the service's payment queue did not drain within 60 s")
        await self._client.aclose()

    def counts(self) -> dict[str, int]:
        """States put in the stand-in and webhooks sent, by the service's answer."""
        return {**self._counts, "payments": len(self._locks)}
