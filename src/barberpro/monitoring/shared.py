"""One view over several processes: each publishes its windows, readers merge them.

Every ``interval_s`` a process writes a snapshot of its whole ring (15 minutes of 10-second
slots) plus its live gauges under its own id; it replaces its previous snapshot, never adds to
it, so a reader that merges the latest snapshot of every other process with its own live ring
counts each request exactly once. A process that stopped leaves its last snapshot behind: its
requests stay in the windows until they age out, and its live gauges are ignored once the
snapshot is older than ``stale_s``.

The snapshots are the fields of one hash of the deployment's shared state (barberpro.kv): a
Redis hash shared by every instance, or a directory the workers of one host share. A single
process (``memory://``) publishes nothing: there is nobody to read it.

Why not the database: the windows change every second on every process; writing them into the
event store would put monitoring writes in the path of the group-commit writer it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog

from barberpro import background
from barberpro.kv import KeyValueStore
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.windows import KEEP_S, Key, load

log = structlog.get_logger(__name__)

#: The hash whose fields are the processes' snapshots.
SNAPSHOTS_KEY = "barberpro:monitoring:snapshots"


@dataclass(slots=True)
class Peer:
    """Another process's latest snapshot, decoded."""

    process_id: str
    at: float
    started: float
    slots: list[tuple[int, dict[Key, Stat]]]
    live: dict[str, Any] = field(default_factory=dict)


class SharedView:
    """Publishes this process's snapshot and reads everyone else's."""

    def __init__(
        self,
        *,
        process_id: str,
        store: KeyValueStore | None,
        key: str = SNAPSHOTS_KEY,
        export: Callable[[], dict[str, Any]],
        interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.process_id = process_id
        self._store = store
        self._key = key
        self._export = export
        self._interval = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._peers: list[Peer] = []
        self._read_at = float("-inf")
        self._decoded: dict[str, tuple[bytes, Peer]] = {}
        self._failing = False

    @property
    def shared(self) -> bool:
        """True when other processes' snapshots are merged in."""
        return self._store is not None

    @property
    def stale_s(self) -> float:
        """Age past which a peer's live gauges are ignored (it has probably stopped)."""
        return max(5.0, 5 * self._interval)

    async def start(self) -> None:
        """Publish now and then every interval."""
        if self._store is None or self._task is not None:
            return
        await self._publish_quietly()
        self._task = asyncio.create_task(self._run(), name="barberpro-monitoring-share")

    async def stop(self) -> None:
        """Publish a last time (so a stopped worker's requests stay counted), then stop."""
        await background.cancel(self._task)
        self._task = None
        if self._store is not None:
            with contextlib.suppress(Exception):
                await self.publish()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._publish_quietly()

    async def _publish_quietly(self) -> None:
        try:
            await self.publish()
        except Exception as exc:  # a Redis hiccup must not stop the service or the loop
            if not self._failing:
                log.warning("could not publish monitoring snapshot", error=repr(exc))
            self._failing = True
        else:
            self._failing = False

    async def publish(self) -> None:
        """Write this process's snapshot now."""
        if self._store is None:
            return
        data = self._export()
        data["at"] = self._clock()
        await self._store.hset(self._key, self.process_id, orjson.dumps(data))

    async def peers(self) -> list[Peer]:
        """Return the other processes' snapshots, re-read at most twice per interval."""
        if self._store is None:
            return []
        now = self._clock()
        if now - self._read_at < self._interval / 2:
            return self._peers
        try:
            raw = await self._store.hgetall(self._key)
        except Exception as exc:  # the merged view falls back to what was last read
            if not self._failing:
                log.warning("could not read monitoring snapshots", error=repr(exc))
            self._failing = True
            self._read_at = now
            return self._peers
        peers: list[Peer] = []
        old: list[str] = []
        decoded: dict[str, tuple[bytes, Peer]] = {}
        for process_id, blob in raw.items():
            if process_id == self.process_id:
                continue
            cached = self._decoded.get(process_id)
            if cached is not None and cached[0] == blob:
                peer = cached[1]
            else:
                try:
                    peer = _decode(process_id, blob)
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning(
                        "unreadable monitoring snapshot", process=process_id, error=repr(exc)
                    )
                    continue
            if now - peer.at > KEEP_S + 60:
                old.append(process_id)
                continue
            decoded[process_id] = (blob, peer)
            peers.append(peer)
        self._decoded = decoded
        if old:
            await self._store.hdel(self._key, *old)
        self._peers = peers
        self._read_at = now
        return peers

    def live_peers(self, peers: list[Peer]) -> list[Peer]:
        """Return the peers whose snapshot is recent enough for their gauges to count."""
        now = self._clock()
        return [p for p in peers if now - p.at <= self.stale_s]


def _decode(process_id: str, blob: bytes) -> Peer:
    data = orjson.loads(blob)
    return Peer(
        process_id=str(data.get("id", process_id)),
        at=float(data["at"]),
        started=float(data.get("started", data["at"])),
        slots=load(data.get("slots", [])),
        live=dict(data.get("live", {})),
    )
