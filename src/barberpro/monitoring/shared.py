"""One view over several processes: each publishes its windows, readers merge them.

Every ``interval_s`` a process writes a snapshot of its whole ring (15 minutes of 10-second
slots) plus its live gauges under its own id; it replaces its previous snapshot, never adds to
it, so a reader that merges the latest snapshot of every other process with its own live ring
counts each request exactly once. A process that stopped leaves its last snapshot behind: its
requests stay in the windows until they age out, and its live gauges are ignored once the
snapshot is older than ``stale_s``.

Where snapshots go:
- ``redis://``: a hash in Redis, shared by every instance behind the load balancer;
- otherwise, under ``barberpro serve --workers N``: files in the ``PROMETHEUS_MULTIPROC_DIR`` the
  CLI created for this run (workers of one instance share a machine);
- otherwise (one process): nowhere, there is nothing to share.

Why not the database: the windows change every second on every process; writing them into the
event store would put monitoring writes in the path of the group-commit writer it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
import structlog

from barberpro import background
from barberpro.monitoring.histogram import Stat
from barberpro.monitoring.windows import KEEP_S, Key, load

log = structlog.get_logger(__name__)

REDIS_KEY = "barberpro:monitoring:snapshots"


class SnapshotStore(Protocol):
    """Where processes publish their snapshots."""

    async def publish(self, process_id: str, data: bytes) -> None:
        """Replace this process's snapshot."""
        ...

    async def read_all(self) -> dict[str, bytes]:
        """Return every process's latest snapshot by process id."""
        ...

    async def forget(self, process_ids: list[str]) -> None:
        """Remove snapshots too old to matter."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class FileSnapshots:
    """Snapshots as files in a directory all workers of one machine share."""

    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    def _path(self, process_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in process_id)
        return self._dir / f"{safe}.json"

    async def publish(self, process_id: str, data: bytes) -> None:
        """Write atomically: a reader sees the old file or the new one, never half of one."""
        await asyncio.to_thread(self._write, self._path(process_id), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    async def read_all(self) -> dict[str, bytes]:
        """Read every snapshot file."""
        return await asyncio.to_thread(self._read_all)

    def _read_all(self) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if not self._dir.is_dir():
            return found
        for path in self._dir.glob("*.json"):
            with contextlib.suppress(OSError):
                found[path.stem] = path.read_bytes()
        return found

    async def forget(self, process_ids: list[str]) -> None:
        """Delete old snapshot files."""
        for process_id in process_ids:
            with contextlib.suppress(OSError):
                self._path(process_id).unlink()

    async def close(self) -> None:
        """Nothing to release."""


class RedisSnapshots:
    """Snapshots as fields of one Redis hash, shared by every instance."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis  # imported only when Redis is configured

        self._client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)

    async def publish(self, process_id: str, data: bytes) -> None:
        """Set this process's field."""
        await self._client.hset(REDIS_KEY, process_id, data)

    async def read_all(self) -> dict[str, bytes]:
        """Return every field."""
        raw: dict[Any, Any] = await self._client.hgetall(REDIS_KEY)
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): (
                v if isinstance(v, bytes) else str(v).encode()
            )
            for k, v in raw.items()
        }

    async def forget(self, process_ids: list[str]) -> None:
        """Delete old fields."""
        if process_ids:
            await self._client.hdel(REDIS_KEY, *process_ids)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def store_for(*, redis_url: str | None, multiprocess_dir: str | None) -> SnapshotStore | None:
    """Return where snapshots go for this deployment, None for a single process."""
    if redis_url is not None and redis_url.startswith(("redis://", "rediss://")):
        return RedisSnapshots(redis_url)
    if multiprocess_dir:
        return FileSnapshots(Path(multiprocess_dir) / "barberpro-windows")
    return None


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
        store: SnapshotStore | None,
        export: Callable[[], dict[str, Any]],
        interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.process_id = process_id
        self._store = store
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
            await self._store.close()

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
        await self._store.publish(self.process_id, orjson.dumps(data))

    async def peers(self) -> list[Peer]:
        """Return the other processes' snapshots, re-read at most twice per interval."""
        if self._store is None:
            return []
        now = self._clock()
        if now - self._read_at < self._interval / 2:
            return self._peers
        try:
            raw = await self._store.read_all()
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
            if process_id == self.process_id or process_id == _safe(self.process_id):
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
            await self._store.forget(old)
        self._peers = peers
        self._read_at = now
        return peers

    def live_peers(self, peers: list[Peer]) -> list[Peer]:
        """Return the peers whose snapshot is recent enough for their gauges to count."""
        now = self._clock()
        return [p for p in peers if now - p.at <= self.stale_s]


def _safe(process_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in process_id)


def _decode(process_id: str, blob: bytes) -> Peer:
    data = orjson.loads(blob)
    return Peer(
        process_id=str(data.get("id", process_id)),
        at=float(data["at"]),
        started=float(data.get("started", data["at"])),
        slots=load(data.get("slots", [])),
        live=dict(data.get("live", {})),
    )
