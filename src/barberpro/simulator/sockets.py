"""Socket.IO clients of the live dashboard: they connect, stay a while and leave.

Each client joins at a seeded moment of the run with the admin token, stays for a seeded part
of it, and leaves; a few leave without saying goodbye (their transport is dropped), as phones
do. What happened is counted: connected, refused, left, dropped.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import socketio


class Sockets:
    """``count`` Socket.IO clients of the service at ``url`` over ``duration`` seconds."""

    def __init__(
        self, url: str, token: str | None, *, count: int, duration: float, seed: int
    ) -> None:
        self.url = url
        self.token = token
        self.count = count
        self.duration = duration
        self.rng = random.Random(seed * 31 + 7)
        self.counts: Counter[str] = Counter()

    async def run(self) -> dict[str, int]:
        """Run every client to its end; return the counts."""
        plans = [
            (self.rng.uniform(0, self.duration * 0.6), self.rng.uniform(0.1, 0.4) * self.duration)
            for _ in range(self.count)
        ]
        drops = {i for i in range(self.count) if self.rng.random() < 0.15}
        await asyncio.gather(
            *(self._client(at, stay, i in drops) for i, (at, stay) in enumerate(plans))
        )
        return dict(self.counts)

    async def _client(self, at: float, stay: float, drop: bool) -> None:
        await asyncio.sleep(at)
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(
                self.url,
                auth={"token": self.token} if self.token else None,
                transports=["websocket"],
                wait_timeout=10,
            )
        except (socketio.exceptions.ConnectionError, OSError) as exc:
            self.counts["refused" if "token" in str(exc) else "failed"] += 1
            return
        self.counts["connected"] += 1
        try:
            await asyncio.sleep(stay)
        finally:
            if drop:  # gone without a goodbye, as a phone in a tunnel
                await client.eio.disconnect(abort=True)
                self.counts["dropped"] += 1
            else:
                await client.disconnect()
                self.counts["left"] += 1
