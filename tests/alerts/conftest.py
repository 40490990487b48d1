"""Fixtures of the alert tests: a settable signal source, a recording notifier, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.alerts.notify import Notification
from barberpro.alerts.signals import Sample
from barberpro.db import migrate
from barberpro.db.engine import create_engine


@dataclass
class Signals:
    """A SignalSource whose answers the test sets; it records what it was asked."""

    values: dict[str, Sample] = field(default_factory=dict)
    asked: list[tuple[str, float, dict[str, str]]] = field(default_factory=list)
    broken: bool = False

    async def sample(self, signal: str, *, window_s: float, labels: Mapping[str, str]) -> Sample:
        """Return the sample set for ``signal`` (none seen when unset)."""
        self.asked.append((signal, window_s, dict(labels)))
        if self.broken:
            raise ConnectionError("source down")
        return self.values.get(signal, Sample(value=None, count=0))


@dataclass
class Recorder:
    """A notifier that keeps what it is sent."""

    name: str = "recorder"
    every_transition: bool = False
    sent: list[Notification] = field(default_factory=list)

    async def send(self, notification: Notification) -> None:
        """Keep the notification."""
        self.sent.append(notification)

    async def aclose(self) -> None:
        """Nothing to release."""

    def statuses(self) -> list[tuple[str, str]]:
        """Return (alertname, status) of each notification, in order."""
        return [(n.alertname, n.status) for n in self.sent]


@dataclass
class Clock:
    """A wall clock the test moves by hand."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database (SQLite and PostgreSQL) for one test."""
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()
