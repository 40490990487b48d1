"""The alerts part of a running app: engine, notifiers, silences and what the API shows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.alerts import store
from barberpro.alerts.alert import Alert
from barberpro.alerts.engine import AlertEngine
from barberpro.alerts.metrics import AlertsGauge
from barberpro.alerts.notify import (
    Dispatcher,
    Emit,
    LogNotifier,
    Notifier,
    RealtimeNotifier,
    WebhookNotifier,
    iso,
)
from barberpro.alerts.rules import Rule, RuleError, load_rules
from barberpro.alerts.signals import SignalSource
from barberpro.alerts.silences import Matcher, Silence
from barberpro.alerts.state import Phase
from barberpro.config import ConfigurationError, Settings
from barberpro.kv import KeyValueStore

__all__ = ["Alerts", "notifiers_from", "rules_from"]

log = structlog.get_logger(__name__)

_SEVERITY_ORDER = {"critical": 0, "warning": 1}


def rules_from(settings: Settings) -> tuple[Rule, ...]:
    """Return the rules ``settings`` configure; ConfigurationError names what is wrong."""
    try:
        return load_rules(file=settings.alert_rules_file or None, env_json=settings.alert_rules)
    except RuleError as exc:
        raise ConfigurationError(str(exc)) from exc


def notifiers_from(
    settings: Settings,
    *,
    emit: Emit | None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> list[Notifier]:
    """Return the notifiers ``settings`` ask for: the log always, the webhook when a URL is
    set, and the Socket.IO room "alerts" when ``emit`` reaches it."""
    notifiers: list[Notifier] = [LogNotifier()]
    if settings.alert_webhook_url:
        notifiers.append(
            WebhookNotifier(
                settings.alert_webhook_url,
                timeout_s=settings.alert_webhook_timeout_s,
                attempts=settings.alert_webhook_attempts,
                transport=webhook_transport,
            )
        )
    if emit is not None:
        notifiers.append(RealtimeNotifier(emit))
    return notifiers


class Alerts:
    """Owns the engine and its notifiers, and answers what the API and the dashboard show."""

    def __init__(
        self,
        *,
        rules: Sequence[Rule],
        db: AsyncEngine,
        kv: KeyValueStore,
        source: SignalSource | None,
        notifiers: Sequence[Notifier],
        gauge: AlertsGauge | None = None,
        enabled: bool = True,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.enabled = enabled
        self.clock = clock
        self.engine = AlertEngine(
            rules=rules,
            db=db,
            kv=kv,
            dispatcher=Dispatcher(notifiers),
            source=source,
            gauge=gauge,
            interval_s=interval_s,
            clock=clock,
        )

    async def start(self) -> None:
        """Start the notifiers, then evaluating (when enabled)."""
        self.engine.dispatcher.start()
        if self.engine.gauge is not None:
            self.engine.gauge.update(self.engine.alerts, leading=False)
        if self.enabled:
            self.engine.start()

    async def stop(self) -> None:
        """Stop evaluating, then deliver the queued notifications."""
        await self.engine.stop()
        await self.engine.dispatcher.stop()

    # -- silences ----------------------------------------------------------------------------

    async def add_silence(
        self,
        *,
        matchers: Sequence[Matcher],
        ends_at: float,
        created_by: str,
        comment: str,
        starts_at: float | None = None,
    ) -> Silence:
        """Store and return a new silence, in force from ``starts_at`` (default now)."""
        now = self.clock()
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=tuple(matchers),
            starts_at=now if starts_at is None else starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            created_at=now,
        )
        await store.add_silence(self.db, silence)
        log.info(
            "alert silence created",
            silence_id=silence.id,
            created_by=created_by,
            ends_at=iso(ends_at),
            matchers=[f"{m.name}{m.op}{m.value}" for m in matchers],
        )
        return silence

    async def expire_silence(self, silence_id: str) -> Silence | None:
        """End a silence now; None when there is no such silence."""
        found = await store.expire_silence(self.db, silence_id, now=self.clock())
        if found is not None:
            log.info("alert silence expired", silence_id=silence_id)
        return found

    def silence_view(self, silence: Silence) -> dict[str, Any]:
        """Return a silence as JSON-able data."""
        return {
            "id": silence.id,
            "matchers": [{"name": m.name, "op": m.op, "value": m.value} for m in silence.matchers],
            "starts_at": iso(silence.starts_at),
            "ends_at": iso(silence.ends_at),
            "created_by": silence.created_by,
            "comment": silence.comment,
            "created_at": iso(silence.created_at),
            "status": silence.status(self.clock()),
        }

    # -- what people see ---------------------------------------------------------------------

    @staticmethod
    def _alert_view(alert: Alert) -> dict[str, Any]:
        view = alert.view()
        for key in ("since", "active_since", "fired_at", "resolved_at"):
            view[key] = iso(view[key])
        return view

    async def overview(self, *, history_limit: int = 50) -> dict[str, Any]:
        """Return the active alerts, the live silences and the newest transitions."""
        evaluated_at, alerts = await self.engine.current()
        active = sorted(
            (a for a in alerts if a.state.phase in (Phase.PENDING, Phase.FIRING)),
            key=lambda a: (_SEVERITY_ORDER[a.rule.severity], a.rule.name),
        )
        now = self.clock()
        silences = await store.live_silences(self.db, now=now)
        entries = await store.history(self.db, limit=history_limit) if history_limit else []
        return {
            "evaluated_at": iso(evaluated_at),
            "evaluating_here": self.engine.leader,
            "interval_s": self.engine.interval_s,
            "alerts": [self._alert_view(a) for a in active],
            "silences": [self.silence_view(s) for s in silences],
            "history": [
                {
                    "at": iso(e.at),
                    "alertname": e.alertname,
                    "fingerprint": e.fingerprint,
                    "severity": e.severity,
                    "from": e.before,
                    "to": e.after,
                    "value": e.value,
                    "labels": dict(e.labels),
                    "silenced": e.silenced,
                    "inhibited": e.inhibited,
                    "notified": e.notified,
                }
                for e in entries
            ],
            "rules": [
                {
                    "name": a.rule.name,
                    "signal": a.rule.signal,
                    "op": a.rule.op,
                    "threshold": a.rule.threshold,
                    "window_s": a.rule.window_s,
                    "for_s": a.rule.for_s,
                    "min_samples": a.rule.min_samples,
                    "severity": a.rule.severity,
                    "kind": a.rule.kind,
                    "target": a.rule.target,
                    "state": a.state.phase.value,
                }
                for a in alerts
            ],
        }

    async def dashboard(self) -> dict[str, Any]:
        """The "alerts" section of the monitoring dashboard."""
        data = await self.overview(history_limit=10)
        firing = sum(1 for a in data["alerts"] if a["state"] == "firing")
        return {
            "firing": firing,
            "pending": len(data["alerts"]) - firing,
            "active": data["alerts"],
            "silences": len(data["silences"]),
            "recent": data["history"],
            "evaluated_at": data["evaluated_at"],
        }
