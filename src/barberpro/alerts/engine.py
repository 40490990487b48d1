"""The alert engine: evaluates the rules every interval on the one instance holding the lease.

Each round: take or renew the leadership lease in the key-value store; if held, sample every
rule's signal, step each alert's state machine, work out inhibition and silences, queue the
notifications, append the transitions to the history and publish a snapshot of the states in
the store. The snapshot lets a new leader carry on where the old one stopped (no repeated
pages after a failover) and lets every instance answer ``GET /monitoring/alerts`` alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro import background
from barberpro.alerts import rules as rules_
from barberpro.alerts import store
from barberpro.alerts.alert import ACTIVE, Alert
from barberpro.alerts.metrics import AlertsGauge
from barberpro.alerts.notify import Dispatcher, Notification
from barberpro.alerts.rules import Rule
from barberpro.alerts.signals import Sample, SignalSource
from barberpro.alerts.silences import Silence, silenced_by
from barberpro.alerts.state import AlertState, Phase, Transition, step
from barberpro.kv import KeyValueStore

__all__ = ["AlertEngine", "inhibited_fingerprints"]

log = structlog.get_logger(__name__)

# How long a round waits to share its states before it pages anyway.
PUBLISH_WAIT_S = 0.5


def inhibited_fingerprints(alerts: Iterable[Alert]) -> set[str]:
    """Return the warnings muted by a firing critical alert of the same kind and target."""
    alerts = list(alerts)
    critical = {
        (a.rule.kind, a.rule.target)
        for a in alerts
        if a.rule.severity == "critical" and a.state.phase is Phase.FIRING
    }
    return {
        a.fingerprint
        for a in alerts
        if a.rule.severity == "warning"
        and a.state.phase in ACTIVE
        and (a.rule.kind, a.rule.target) in critical
    }


def mark(alerts: Iterable[Alert], silences: Sequence[Silence], now: float) -> None:
    """Set each alert's silenced and inhibited flags for ``now``."""
    alerts = list(alerts)
    inhibited = inhibited_fingerprints(alerts)
    for a in alerts:
        a.inhibited = a.fingerprint in inhibited
        a.silenced_by = tuple(silenced_by(silences, a.labels, now))


def restored_state(entries: Sequence[store.HistoryEntry]) -> tuple[AlertState, bool] | None:
    """Return the state (and whether its page went out) an alert's newest transitions left.

    ``entries`` are newest first. None when the alert ended inactive or resolved: nothing is
    open, so there is nothing to carry on.
    """
    last = entries[0]
    phase = Phase(last.after)
    if phase not in ACTIVE:
        return None
    began = last.at
    if phase is Phase.FIRING and last.before == Phase.PENDING.value and len(entries) > 1:
        began = entries[1].at  # the condition has held since the alert went pending
    state = AlertState(
        phase=phase,
        value=last.value,
        active_since=began,
        fired_at=last.at if phase is Phase.FIRING else None,
        changed_at=last.at,
    )
    return state, phase is Phase.FIRING and last.notified


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AlertEngine:
    """Evaluates ``rules`` against a SignalSource every ``interval_s`` while it leads."""

    def __init__(
        self,
        *,
        rules: Sequence[Rule],
        db: AsyncEngine,
        kv: KeyValueStore,
        dispatcher: Dispatcher,
        source: SignalSource | None = None,
        gauge: AlertsGauge | None = None,
        interval_s: float = 10.0,
        lease_s: float | None = None,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        key_prefix: str = "barberpro:alerts",
    ) -> None:
        self.rules = tuple(rules)
        self.alerts = [Alert.of(rule) for rule in self.rules]
        # None: nothing to evaluate (the API still answers); tests put a fixed source here.
        self.source = source
        self.db = db
        self.kv = kv
        self.dispatcher = dispatcher
        self.interval_s = interval_s
        # Three missed renewals before another instance takes over.
        self.lease_s = lease_s if lease_s is not None else max(3 * interval_s, 1.0)
        self.clock = clock
        self.owner = owner or _default_owner()
        self.lock_key = f"{key_prefix}:leader"
        self.state_key = f"{key_prefix}:state"
        self.leader = False
        self.evaluated_at: float | None = None
        self.gauge = gauge
        self._task: asyncio.Task[None] | None = None
        self._warned_no_source = False

    # -- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start evaluating in the background (first round at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alerts-engine")

    async def stop(self) -> None:
        """Stop evaluating and give up the lease so another instance takes over at once."""
        await background.cancel(self._task)
        self._task = None
        if self.leader:
            self.leader = False
            with contextlib.suppress(Exception):
                await self.kv.release(self.lock_key, self.owner)
        if self.gauge is not None:
            self.gauge.update(self.alerts, leading=False)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.tick()
            except Exception:
                log.exception("alert evaluation failed")
            await asyncio.sleep(max(0.0, self.interval_s - (loop.time() - started)))

    async def tick(self) -> list[Notification]:
        """Run one round: renew leadership, then evaluate when leading; return what was sent."""
        try:
            leading = await self.kv.acquire(self.lock_key, self.owner, self.lease_s)
        except Exception as exc:
            log.warning("alert leadership unknown: store unreachable", error=str(exc))
            leading = False
        if leading and not self.leader:
            log.info("alert engine leads the evaluation", owner=self.owner)
            await self._restore()
        elif self.leader and not leading:
            log.info("alert engine lost the lead", owner=self.owner)
        self.leader = leading
        if not leading:
            if self.gauge is not None:
                self.gauge.update(self.alerts, leading=False)
            return []
        now = self.clock()
        notifications, entries = await self.evaluate(now)
        # Shared before anyone is paged: an instance asked for the alerts right after a page
        # answers with the states it announced, not the round before. A slow store delays the
        # pages by PUBLISH_WAIT_S at most; the states then go out with the next round.
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the engine's
        # stop (a cancel arriving as the publish completes), and the round loop runs on.
        try:
            async with asyncio.timeout(PUBLISH_WAIT_S):
                await self._publish(now)
        except TimeoutError:
            log.warning("alert states not shared in time", wait_s=PUBLISH_WAIT_S)
        for notification in notifications:
            self.dispatcher.submit(notification)
        try:
            await store.record(self.db, entries)
        except Exception as exc:
            log.error("alert history not recorded", error=str(exc), transitions=len(entries))
        if self.gauge is not None:
            self.gauge.update(self.alerts, leading=True)
        return notifications

    # -- one evaluation ----------------------------------------------------------------------

    async def _sample(self, source: SignalSource, rule: Rule) -> Sample | None:
        try:
            return await asyncio.wait_for(
                source.sample(rule.signal, window_s=rule.window_s, labels=rule.selector),
                timeout=max(self.interval_s, 1.0),
            )
        except Exception as exc:
            # Keep the alert where it is: a broken source must neither fire nor resolve.
            log.warning("alert signal unavailable", rule=rule.name, error=repr(exc))
            return None

    async def evaluate(self, now: float) -> tuple[list[Notification], list[store.HistoryEntry]]:
        """Step every alert at ``now``; return the notifications and the history entries."""
        source = self.source
        if source is None:
            if not self._warned_no_source:
                log.warning("alert engine has no signal source; rules are not evaluated")
                self._warned_no_source = True
            return [], []
        samples = await asyncio.gather(*(self._sample(source, a.rule) for a in self.alerts))
        changed: dict[str, Transition] = {}
        for alert, sample in zip(self.alerts, samples, strict=True):
            if sample is None:
                continue
            alert.detail = sample.detail
            alert.state, transition = step(
                alert.state,
                rules_.holds(alert.rule, sample),
                sample.value,
                now,
                for_s=alert.rule.for_s,
            )
            if transition is not None:
                changed[alert.fingerprint] = transition
        try:
            silences = await store.live_silences(self.db, now=now)
        except Exception as exc:
            log.error("alert silences unreadable; muting nothing", error=str(exc))
            silences = []
        mark(self.alerts, silences, now)
        self.evaluated_at = now
        notifications: list[Notification] = []
        entries: list[store.HistoryEntry] = []
        for alert in self.alerts:
            transition = changed.get(alert.fingerprint)
            notify = self._decide(alert, transition)
            if transition is None and not notify:
                continue
            notifications.append(self._notification(alert, now, notify=notify))
            if transition is not None:
                log.info(
                    "alert transition",
                    alertname=alert.rule.name,
                    before=transition.before.value,
                    after=transition.after.value,
                    value=transition.value,
                    silenced=bool(alert.silenced_by),
                    inhibited=alert.inhibited,
                )
                entries.append(self._entry(alert, transition, notify=notify))
        return notifications, entries

    @staticmethod
    def _decide(alert: Alert, transition: Transition | None) -> bool:
        """Return whether to page now, updating ``alert.notified``."""
        muted = alert.inhibited or bool(alert.silenced_by)
        if alert.state.phase is Phase.FIRING and not alert.notified and not muted:
            alert.notified = True
            return True
        if transition is not None and transition.after is Phase.RESOLVED and alert.notified:
            # Close what a receiver opened, even when the alert is muted by now.
            alert.notified = False
            return True
        return False

    @staticmethod
    def _notification(alert: Alert, now: float, *, notify: bool) -> Notification:
        s = alert.state
        return Notification(
            status=s.phase.value,
            alertname=alert.rule.name,
            severity=alert.rule.severity,
            labels=alert.labels,
            summary=alert.rule.summary,
            detail=alert.detail,
            value=s.value,
            threshold=alert.rule.threshold,
            fingerprint=alert.fingerprint,
            starts_at=s.fired_at if s.fired_at is not None else s.active_since,
            ends_at=s.resolved_at,
            at=now,
            silenced=bool(alert.silenced_by),
            inhibited=alert.inhibited,
            notify=notify,
        )

    @staticmethod
    def _entry(alert: Alert, transition: Transition, *, notify: bool) -> store.HistoryEntry:
        return store.HistoryEntry(
            at=transition.at,
            fingerprint=alert.fingerprint,
            alertname=alert.rule.name,
            severity=alert.rule.severity,
            before=transition.before.value,
            after=transition.after.value,
            value=transition.value,
            labels=alert.labels,
            silenced=bool(alert.silenced_by),
            inhibited=alert.inhibited,
            notified=notify,
        )

    # -- the shared snapshot -----------------------------------------------------------------

    def _snapshot(self, now: float) -> bytes:
        return orjson.dumps(
            {
                "owner": self.owner,
                "evaluated_at": now,
                "alerts": {
                    a.fingerprint: {
                        "phase": a.state.phase.value,
                        "value": a.state.value,
                        "active_since": a.state.active_since,
                        "fired_at": a.state.fired_at,
                        "resolved_at": a.state.resolved_at,
                        "changed_at": a.state.changed_at,
                        "notified": a.notified,
                        "detail": a.detail,
                    }
                    for a in self.alerts
                },
            }
        )

    async def _publish(self, now: float) -> None:
        try:
            # Kept a day: long enough for any failover, short enough not to linger forever.
            await self.kv.set(self.state_key, self._snapshot(now), ttl_s=86_400)
        except Exception as exc:
            log.warning("alert states not shared", error=str(exc))

    async def _load(self) -> tuple[float | None, dict[str, Any]]:
        raw = await self.kv.get(self.state_key)
        if raw is None:
            return None, {}
        data = orjson.loads(raw)
        return data.get("evaluated_at"), data.get("alerts", {})

    @staticmethod
    def _apply(alert: Alert, saved: Mapping[str, Any]) -> None:
        alert.state = AlertState(
            phase=Phase(saved["phase"]),
            value=saved.get("value"),
            active_since=saved.get("active_since"),
            fired_at=saved.get("fired_at"),
            resolved_at=saved.get("resolved_at"),
            changed_at=saved.get("changed_at"),
        )
        alert.notified = bool(saved.get("notified"))
        alert.detail = saved.get("detail")

    async def _restore(self) -> None:
        """Carry on from the states the previous leader published, else from the history.

        Without a published snapshot (one process restarted, or the snapshot expired) an
        alert left pending or firing by the history is pending or firing again, so the first
        evaluation resolves it, and pages the resolution, when its condition no longer holds.
        """
        try:
            _, saved = await self._load()
        except Exception as exc:
            log.warning("alert states not restored", error=str(exc))
            return
        if not saved:
            await self._restore_from_history()
            return
        for alert in self.alerts:
            if alert.fingerprint in saved:
                self._apply(alert, saved[alert.fingerprint])

    async def _restore_from_history(self) -> None:
        try:
            found = await store.latest(self.db, [a.fingerprint for a in self.alerts])
        except Exception as exc:
            log.warning("alert history unreadable; starting from inactive", error=str(exc))
            return
        for alert in self.alerts:
            entries = found.get(alert.fingerprint)
            if entries is None:
                continue
            state = restored_state(entries)
            if state is None:
                continue
            alert.state, alert.notified = state
            log.info(
                "alert state restored from the history",
                alertname=alert.rule.name,
                phase=alert.state.phase.value,
            )

    async def current(self) -> tuple[float | None, list[Alert]]:
        """Return (when evaluated, the alerts) as the leader sees them, flags for now."""
        if self.leader:
            alerts, evaluated_at = self.alerts, self.evaluated_at
        else:
            try:
                evaluated_at, saved = await self._load()
            except Exception as exc:
                log.warning("alert states unreadable", error=str(exc))
                evaluated_at, saved = None, {}
            alerts = []
            for rule in self.rules:
                alert = Alert.of(rule)
                if alert.fingerprint in saved:
                    self._apply(alert, saved[alert.fingerprint])
                alerts.append(alert)
        now = self.clock()
        silences = await store.live_silences(self.db, now=now)
        views = [
            Alert(a.rule, a.labels, a.fingerprint, a.state, a.notified, detail=a.detail)
            for a in alerts
        ]  # copies: the flags set here are for the reader, not the engine
        mark(views, silences, now)
        return evaluated_at, views
