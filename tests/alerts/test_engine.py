"""The alert engine: notifications, inhibition, silences, history and leadership."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.alerts import store
from barberpro.alerts.engine import AlertEngine
from barberpro.alerts.notify import Dispatcher
from barberpro.alerts.rules import DEFAULT_RULES, Rule
from barberpro.alerts.signals import Sample
from barberpro.alerts.silences import Matcher, Silence
from barberpro.kv import KeyValueStore, SharedState
from barberpro.kv.memory import MemoryStore
from tests.alerts.conftest import Clock, Recorder, Signals
from tests.conftest import REDIS_URL

RULES = {r.name: r for r in DEFAULT_RULES}
LATENCY = (RULES["api_p95_critical"], RULES["api_p95_warning"])


def make_engine(
    db: AsyncEngine,
    signals: Signals,
    clock: Clock,
    *,
    rules: tuple[Rule, ...] = LATENCY,
    kv: KeyValueStore | None = None,
    owner: str = "one",
    prefix: str = "barberpro:alerts",
) -> tuple[AlertEngine, Recorder]:
    recorder = Recorder()
    engine = AlertEngine(
        rules=rules,
        db=db,
        kv=kv or MemoryStore(),
        dispatcher=Dispatcher([recorder]),
        source=signals,
        interval_s=10,
        clock=clock,
        owner=owner,
        key_prefix=prefix,
    )
    engine.dispatcher.start()
    return engine, recorder


async def tick(engine: AlertEngine, clock: Clock, seconds: float = 10) -> None:
    clock.advance(seconds)
    await engine.tick()
    await engine.dispatcher.drain()


def p95(value: float, count: int = 100) -> dict[str, Sample]:
    return {"http_p95_ms": Sample(value=value, count=count)}


async def test_warning_then_critical_inhibits_it_then_both_resolve(db: AsyncEngine) -> None:
    """p95 175 fires the warning; 250 for 1 min fires the critical, which mutes the warning."""
    signals, clock = Signals(p95(175)), Clock()
    engine, recorder = make_engine(db, signals, clock)
    try:
        await tick(engine, clock)
        assert recorder.statuses() == [("api_p95_warning", "firing")]
        signals.values = p95(250)
        await tick(engine, clock)  # critical pending: nobody is told
        assert len(recorder.sent) == 1
        await tick(engine, clock, 60)
        assert recorder.statuses()[1:] == [("api_p95_critical", "firing")]
        _, alerts = await engine.current()
        flags = {a.rule.name: (a.state.phase.value, a.inhibited) for a in alerts}
        assert flags == {"api_p95_critical": ("firing", False), "api_p95_warning": ("firing", True)}
        signals.values = p95(90)
        await tick(engine, clock)
        assert sorted(recorder.statuses()[2:]) == [
            ("api_p95_critical", "resolved"),
            ("api_p95_warning", "resolved"),
        ]
        history = await store.history(db, limit=10)
        assert [(e.alertname, e.before, e.after) for e in reversed(history)] == [
            ("api_p95_warning", "inactive", "firing"),
            ("api_p95_critical", "inactive", "pending"),
            ("api_p95_critical", "pending", "firing"),
            ("api_p95_critical", "firing", "resolved"),
            ("api_p95_warning", "firing", "resolved"),
        ]
    finally:
        await engine.dispatcher.stop()


async def test_inhibited_warning_is_told_only_once_the_critical_resolves(db: AsyncEngine) -> None:
    """A warning firing under a firing critical is muted, and sent when the critical ends."""
    critical = dataclasses.replace(RULES["api_p95_critical"], for_s=0)
    signals, clock = Signals(p95(250)), Clock()
    engine, recorder = make_engine(db, signals, clock, rules=(critical, LATENCY[1]))
    try:
        await tick(engine, clock)
        assert recorder.statuses() == [("api_p95_critical", "firing")]
        history = await store.history(db, limit=10)
        warning = next(e for e in history if e.alertname == "api_p95_warning")
        assert warning.inhibited
        assert not warning.notified
        signals.values = p95(175)
        await tick(engine, clock)
        assert sorted(recorder.statuses()[1:]) == [
            ("api_p95_critical", "resolved"),
            ("api_p95_warning", "firing"),
        ]
    finally:
        await engine.dispatcher.stop()


async def test_pending_alert_that_clears_sends_nothing(db: AsyncEngine) -> None:
    """A critical that is pending and stops holding goes back to inactive silently."""
    signals, clock = Signals(p95(250)), Clock()
    engine, recorder = make_engine(db, signals, clock, rules=(LATENCY[0],))
    try:
        await tick(engine, clock)
        signals.values = p95(100)
        await tick(engine, clock)
        assert recorder.sent == []
        history = await store.history(db, limit=10)
        assert [(e.before, e.after) for e in reversed(history)] == [
            ("inactive", "pending"),
            ("pending", "inactive"),
        ]
    finally:
        await engine.dispatcher.stop()


async def test_too_few_samples_do_not_fire(db: AsyncEngine) -> None:
    """A p95 over 19 requests is below min_samples and fires nothing."""
    signals, clock = Signals(p95(900, count=19)), Clock()
    engine, recorder = make_engine(db, signals, clock, rules=(LATENCY[1],))
    try:
        await tick(engine, clock)
        assert recorder.sent == []
        assert engine.alerts[0].state.phase.value == "inactive"
    finally:
        await engine.dispatcher.stop()


async def test_silenced_alert_changes_state_but_is_told_after_the_silence(
    db: AsyncEngine,
) -> None:
    """A silence mutes the firing notification; once it expires the firing alert is sent."""
    signals, clock = Signals(p95(175)), Clock()
    engine, recorder = make_engine(db, signals, clock, rules=(LATENCY[1],))
    silence = Silence(
        id="s1",
        matchers=(Matcher("alertname", "api_p95_.*", "=~"), Matcher("severity", "warning")),
        starts_at=clock.now,
        ends_at=clock.now + 30,
        created_by="ops",
        comment="deploy",
        created_at=clock.now,
    )
    await store.add_silence(db, silence)
    try:
        await tick(engine, clock)
        assert recorder.sent == []
        _, alerts = await engine.current()
        assert alerts[0].state.phase.value == "firing"
        assert list(alerts[0].silenced_by) == ["s1"]
        await tick(engine, clock, 30)
        assert recorder.statuses() == [("api_p95_warning", "firing")]
    finally:
        await engine.dispatcher.stop()


async def test_broken_source_neither_fires_nor_resolves(db: AsyncEngine) -> None:
    """When the source fails, alerts keep their state until it answers again."""
    signals, clock = Signals(p95(175)), Clock()
    engine, recorder = make_engine(db, signals, clock, rules=(LATENCY[1],))
    try:
        await tick(engine, clock)
        signals.broken = True
        await tick(engine, clock)
        assert engine.alerts[0].state.phase.value == "firing"
        assert recorder.statuses() == [("api_p95_warning", "firing")]
    finally:
        await engine.dispatcher.stop()


async def test_rule_selector_and_window_reach_the_source(db: AsyncEngine) -> None:
    """The engine asks the source for the rule's signal, window and selector."""
    rule = Rule(
        name="action_slow",
        signal="http_p95_ms",
        op=">",
        threshold=100,
        window_s=60,
        selector={"route": "/api/v1/analytics/action"},
    )
    signals, clock = Signals(), Clock()
    engine, _ = make_engine(db, signals, clock, rules=(rule,))
    try:
        await tick(engine, clock)
        assert signals.asked == [("http_p95_ms", 60, {"route": "/api/v1/analytics/action"})]
    finally:
        await engine.dispatcher.stop()


@pytest.mark.parametrize(
    "kv_url",
    [
        pytest.param("memory://", id="memory"),
        pytest.param("directory", id="directory"),
        pytest.param(REDIS_URL, id="redis", marks=pytest.mark.redis),
    ],
)
async def test_only_the_leader_evaluates_and_a_successor_carries_on(
    db: AsyncEngine, kv_url: str, tmp_path: Path
) -> None:
    """Two engines on one store: one evaluates; after it stops the other takes over silently."""
    state = SharedState(tmp_path.as_uri() if kv_url == "directory" else kv_url)
    kv = state.store
    prefix = f"test:alerts:{uuid.uuid4().hex}"
    signals, clock = Signals(p95(175)), Clock()
    first, first_sent = make_engine(
        db, signals, clock, rules=(LATENCY[1],), kv=kv, owner="a", prefix=prefix
    )
    second, second_sent = make_engine(
        db, signals, clock, rules=(LATENCY[1],), kv=kv, owner="b", prefix=prefix
    )
    try:
        await tick(first, clock)
        await tick(second, clock, 0)
        assert (first.leader, second.leader) == (True, False)
        assert first_sent.statuses() == [("api_p95_warning", "firing")]
        assert second_sent.sent == []
        _, seen_by_follower = await second.current()  # the follower reads the leader's states
        assert seen_by_follower[0].state.phase.value == "firing"
        await first.stop()
        await tick(second, clock)
        assert second.leader
        assert second_sent.sent == []  # already told by the first leader: not told again
        signals.values = p95(50)
        await tick(second, clock)
        assert second_sent.statuses() == [("api_p95_warning", "resolved")]
    finally:
        await second.stop()
        await first.dispatcher.stop()
        await second.dispatcher.stop()
        await state.close()


async def test_a_restarted_engine_resolves_what_fired_before_it_stopped(db: AsyncEngine) -> None:
    """With no shared snapshot, the history restores a firing alert and resolution is paged."""
    signals, clock = Signals(p95(175)), Clock()
    before, before_sent = make_engine(db, signals, clock, rules=(LATENCY[1],))
    await tick(before, clock)
    assert before_sent.statuses() == [("api_p95_warning", "firing")]
    await before.stop()
    await before.dispatcher.stop()
    signals.values = p95(60)  # the process restarts with a fresh memory:// store
    after, after_sent = make_engine(db, signals, clock, rules=(LATENCY[1],))
    try:
        await tick(after, clock)
        assert after_sent.statuses() == [("api_p95_warning", "resolved")]
        _, alerts = await after.current()
        assert [a.state.phase.value for a in alerts] == ["resolved"]
        newest = await store.history(db, limit=1)
        assert (newest[0].before, newest[0].after, newest[0].notified) == (
            "firing",
            "resolved",
            True,
        )
    finally:
        await after.stop()
        await after.dispatcher.stop()


async def test_a_restarted_engine_keeps_firing_without_paging_again(db: AsyncEngine) -> None:
    """A condition still holding after the restart stays firing and pages nobody twice."""
    signals, clock = Signals(p95(175)), Clock()
    before, _ = make_engine(db, signals, clock, rules=(LATENCY[1],))
    await tick(before, clock)
    await before.stop()
    await before.dispatcher.stop()
    after, after_sent = make_engine(db, signals, clock, rules=(LATENCY[1],))
    try:
        await tick(after, clock)
        await tick(after, clock)
        assert after_sent.sent == []
        _, alerts = await after.current()
        assert alerts[0].state.phase.value == "firing"
        assert alerts[0].state.fired_at is not None
    finally:
        await after.stop()
        await after.dispatcher.stop()
