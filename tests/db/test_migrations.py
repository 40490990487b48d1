"""Migrations build exactly the schema of barberpro.db.tables, on every database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from barberpro.analytics import revenue
from barberpro.argentina.timezone import HOUR_US, art_day
from barberpro.db import locks, migrate, tables
from barberpro.db.engine import create_engine


def _diff(connection: Connection) -> list[object]:
    def built_here(item: Any, name: Any, kind: str, reflected: bool, other: Any) -> bool:
        """Leave out the indexes of another database (``tables.sqlite_only``)."""
        only_on = item.info.get(tables.ONLY_ON) if kind == "index" and not reflected else None
        return only_on in (None, connection.dialect.name)

    context = MigrationContext.configure(connection, opts={"include_object": built_here})
    return list(compare_metadata(context, tables.metadata))


async def test_migrations_match_the_tables_and_are_idempotent(database_url: str) -> None:
    """After upgrade the database equals the table definitions; a second upgrade is a no-op."""
    engine = create_engine(database_url)
    try:
        assert (await migrate.revision(engine))[0] is None
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)
        current, head = await migrate.revision(engine)
        assert current == head
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_funnel_rollups_copy_and_follow_their_units_first_touch(database_url: str) -> None:
    """Migration 0005 copies each unit's first touch onto its starts and builds its days from
    them (the furthest, then earliest, start of each ART day); the trigger keeps both current.
    """
    engine = create_engine(database_url)
    fs, fd, units = tables.funnel_starts, tables.funnel_days, tables.units
    touch = {"province": "AR-C", "device_type": "mobile", "referral_channel": "whatsapp"}
    day = 20_000  # an ART day: it starts at 03:00 UTC
    at = day * 86_400_000_000 + 3 * 3_600_000_000
    # (event_id, unit, t1, reach, t2): every row names the same columns, those of 0004.
    starts = [
        ("e1", "u1", at + 20, 1, None),
        ("e2", "u1", at + 30, 2, at + 95),
        ("e3", "u1", at + 40, 2, at + 45),
        ("e4", "u1", at - 1, 1, None),
        ("e5", "u2", at + 20, 1, None),
        ("e6", "nobody", at + 20, 1, None),
    ]
    try:
        await migrate.upgrade(engine, "0004")
        async with engine.begin() as conn:
            await conn.execute(
                units.insert(),
                [
                    {"unit": "u1", "first_at": 10, "first_session_id": "s1", **touch},
                    {"unit": "u2", "first_at": 10, "first_session_id": "s2", **touch},
                ],
            )
            names = ("event_id", "unit", "t1", "reach", "t2")
            await conn.execute(
                fs.insert(), [dict(zip(names, start, strict=True)) for start in starts]
            )
        await migrate.upgrade(engine)

        async def stored() -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, int], Any]]:
            async with engine.connect() as conn:
                found = await conn.execute(select(fs.c.event_id, *dims(fs)))
                days = await conn.execute(
                    select(fd.c.unit, fd.c.day, fd.c.reach, fd.c.t1, fd.c.g2, *dims(fd))
                )
                return (
                    {row[0]: tuple(row[1:]) for row in found},
                    {(row[0], row[1]): tuple(row[2:]) for row in days},
                )

        copied, none = ("AR-C", "mobile", "whatsapp"), (None, None, None)
        assert await stored() == (
            {"e1": copied, "e2": copied, "e3": copied, "e4": copied, "e5": copied, "e6": none},
            {
                ("u1", day): (2, at + 30, 65, *copied),
                ("u1", day - 1): (1, at - 1, None, *copied),
                ("u2", day): (1, at + 20, None, *copied),
                ("nobody", day): (1, at + 20, None, *none),
            },
        )
        async with engine.begin() as conn:
            # An earlier session of u1 becomes its first touch: its rows follow, u2's stay.
            await conn.execute(
                units.update()
                .where(units.c.unit == "u1")
                .values(first_at=5, first_session_id="s0", province="AR-X", device_type="desktop")
            )
        found, days = await stored()
        moved = ("AR-X", "desktop", "whatsapp")
        assert found == {
            "e1": moved,
            "e2": moved,
            "e3": moved,
            "e4": moved,
            "e5": copied,
            "e6": none,
        }
        assert {key: row[-3:] for key, row in days.items()} == {
            ("u1", day): moved,
            ("u1", day - 1): moved,
            ("u2", day): copied,
            ("nobody", day): none,
        }
        async with engine.begin() as conn:
            # A unit first seen after its funnel rows (a user_id no session carried before).
            await conn.execute(
                units.insert().values(unit="nobody", first_at=50, first_session_id="s9", **touch)
            )
        found, days = await stored()
        assert (found["e6"], days[("nobody", day)][-3:]) == (copied, copied)
    finally:
        await engine.dispose()


def dims(table: Any) -> list[Any]:
    """The first-touch columns of a funnel rollup."""
    return [table.c.province, table.c.device_type, table.c.referral_channel]


async def test_session_days_are_built_and_kept_by_the_triggers(database_url: str) -> None:
    """Migration 0006 counts the existing sessions by ART day and dimensions; the triggers then
    follow every insert and update (a later last event, an earlier start, filled-in dimensions).
    """
    engine = create_engine(database_url)
    s, sd = tables.sessions, tables.session_days
    day = 20_000
    at = day * 86_400_000_000 + 3 * 3_600_000_000  # 00:00 ART of that day

    def session(sid: str, start: int, last: int, **dimensions: str | None) -> dict[str, Any]:
        found: dict[str, Any] = {"device_type": None, "province": None, "city": None}
        found["referral_channel"] = None
        return found | {
            "session_id": sid,
            "explicit": False,
            "started_at": start,
            "last_seen_at": last,
            "event_count": 1,
            **dimensions,
        }

    async def stored() -> dict[tuple[Any, ...], tuple[int, int]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(sd).where(sd.c.sessions != 0))
            return {tuple(row[:5]): (row[5], row[6]) for row in rows}

    try:
        await migrate.upgrade(engine, "0005")
        async with engine.begin() as conn:
            await conn.execute(
                s.insert(),
                [
                    session("a", at + 10, at + 70, device_type="mobile", province="AR-C"),
                    session("b", at + 20, at + 25, device_type="mobile", province="AR-C"),
                    session("c", at - 5, at + 5),
                ],
            )
        await migrate.upgrade(engine)
        mobile = (day, "mobile", "", "AR-C", "")
        assert await stored() == {mobile: (2, 65), (day - 1, "", "", "", ""): (1, 10)}
        async with engine.begin() as conn:
            await conn.execute(s.insert(), [session("d", at + 1, at + 2)])
            # A later event lengthens a; a late event moves c's start; a start fills in d.
            await conn.execute(s.update().where(s.c.session_id == "a").values(last_seen_at=at + 90))
            await conn.execute(s.update().where(s.c.session_id == "c").values(started_at=at - 7))
            await conn.execute(
                s.update()
                .where(s.c.session_id == "d")
                .values(device_type="desktop", referral_channel="whatsapp", city="Rosario")
            )
        assert await stored() == {
            mobile: (2, 85),
            (day - 1, "", "", "", ""): (1, 12),
            (day, "desktop", "whatsapp", "", "Rosario"): (1, 1),
        }
        async with engine.begin() as conn:
            # Several sessions in one statement (the writer's upserts): late events of the day
            # before move both mobile sessions' starts a day earlier.
            await conn.execute(
                s.update()
                .where(s.c.session_id.in_(["a", "b"]))
                .values(started_at=s.c.started_at - 86_400_000_000)
            )
        assert await stored() == {
            (day - 1, "mobile", "", "AR-C", ""): (2, 85 + 2 * 86_400_000_000),
            (day - 1, "", "", "", ""): (1, 12),
            (day, "desktop", "whatsapp", "", "Rosario"): (1, 1),
        }
    finally:
        await engine.dispose()


async def test_payments_carry_and_follow_their_payers_channel(database_url: str) -> None:
    """Migration 0007 copies each payer's first-touch channel onto its payments; the triggers
    then follow a payment getting (or changing) its payer, a payer's first touch moving, and a
    payer first seen after paying.
    """
    engine = create_engine(database_url)
    p, units = tables.payments, tables.units

    def payment(pid: str, user: str | None) -> dict[str, Any]:
        return {
            "payment_id": pid,
            "status": "approved",
            "status_at": 1,
            "event_id": f"e-{pid}",
            "amount_cents": 100,
            "currency": "ARS",
            "approved_user_id": user,
        }

    def unit(name: str, channel: str | None) -> dict[str, Any]:
        return {"unit": name, "first_at": 10, "first_session_id": f"s-{name}"} | {
            "referral_channel": channel
        }

    async def stored() -> dict[str, str | None]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(p.c.payment_id, p.c.payer_channel))
            return dict(rows.tuples().all())

    try:
        await migrate.upgrade(engine, "0006")
        async with engine.begin() as conn:
            await conn.execute(units.insert(), [unit("u1", "whatsapp"), unit("u2", None)])
            await conn.execute(
                p.insert(), [payment("p1", "u1"), payment("p2", "u2"), payment("p3", None)]
            )
        await migrate.upgrade(engine)
        assert await stored() == {"p1": "whatsapp", "p2": None, "p3": None}
        async with engine.begin() as conn:
            await conn.execute(p.insert(), [payment("p4", "u1"), payment("p5", "u9")])
            # p3 gets its payer; u2's first touch moves to a session that came from Instagram.
            await conn.execute(
                p.update().where(p.c.payment_id == "p3").values(approved_user_id="u1")
            )
            await conn.execute(
                units.update().where(units.c.unit == "u2").values(referral_channel="instagram")
            )
        assert await stored() == {
            "p1": "whatsapp",
            "p2": "instagram",
            "p3": "whatsapp",
            "p4": "whatsapp",
            "p5": None,
        }
        async with engine.begin() as conn:
            # A payer first seen after paying; another payment's payer changes to nobody known.
            await conn.execute(units.insert(), [unit("u9", "google")])
            await conn.execute(
                p.update().where(p.c.payment_id == "p1").values(approved_user_id="u8")
            )
            # An update that leaves the payer as it was keeps the channel.
            await conn.execute(p.update().where(p.c.payment_id == "p4").values(status="refunded"))
        assert await stored() == {
            "p1": None,
            "p2": "instagram",
            "p3": "whatsapp",
            "p4": "whatsapp",
            "p5": "google",
        }
    finally:
        await engine.dispose()


async def test_payment_hours_are_built_and_kept_by_the_triggers(database_url: str) -> None:
    """Migration 0008 sums the payments into `payment_hours`; the triggers keep it equal to the
    payments grouped afresh through inserts, status changes, an earlier approval with other
    fields, refunds, a chargeback, a rejection and a payer's channel moving."""
    engine = create_engine(database_url)
    p, ph, units = tables.payments, tables.payment_hours, tables.units
    hour = 3_600_000_000

    def payment(pid: str, at: int, **fields: Any) -> dict[str, Any]:
        row = {
            "payment_id": pid,
            "status": "approved",
            "status_at": at,
            "event_id": f"e-{pid}",
            "amount_cents": 1000,
            "currency": "ARS",
            "installments": 3,
            "first_approved_at": at,
            "approved_amount_cents": 1000,
            "approved_currency": "ARS",
            "approved_commission_cents": 100,
            "approved_method": "visa",
            "approved_type": "credit_card",
            "approved_installments": 3,
            "approved_user_id": "u1",
        }
        return row | fields

    async def kept() -> list[tuple[Any, ...]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(ph).where(ph.c.payments != 0))
            return sorted(tuple(row) for row in rows)

    async def afresh() -> list[tuple[Any, ...]]:
        async with engine.connect() as conn:
            rows = await conn.execute(revenue.grouped_payments(0, 10**18))
            # (measure, hour, ...) as the table's (hour, measure, ...); PostgreSQL sums numerics
            return sorted(
                (int(r[1]), r[0], r[2], r[3], r[4], *(int(v) for v in r[5:])) for r in rows
            )

    try:
        await migrate.upgrade(engine, "0007")
        async with engine.begin() as conn:
            await conn.execute(
                units.insert(),
                [
                    {
                        "unit": "u1",
                        "first_at": 1,
                        "first_session_id": "s1",
                        "referral_channel": "whatsapp",
                    }
                ],
            )
            await conn.execute(
                p.insert(),
                [
                    payment("p1", 10 * hour + 5),
                    payment(
                        "p2",
                        10 * hour + 9,
                        approved_user_id=None,
                        currency="USD",
                        approved_currency="USD",
                    ),
                    payment(
                        "p3",
                        11 * hour,
                        status="rejected",
                        first_approved_at=None,
                        approved_amount_cents=None,
                        approved_currency=None,
                        approved_commission_cents=None,
                        approved_method=None,
                        approved_type=None,
                        approved_installments=None,
                        approved_user_id=None,
                        installments=None,
                    ),
                ],
            )
        await migrate.upgrade(engine)
        built = await kept()
        assert built == await afresh()
        assert (10, "payer_channel", "ARS", "whatsapp", "", 1, 1000, 0) in built
        assert (11, "rejected", "ARS", "", "", 1, 1000, 0) in built
        async with engine.begin() as conn:
            await conn.execute(
                p.insert(),
                [
                    payment(
                        "p4",
                        12 * hour,
                        approved_user_id="u2",
                        installments=6,
                        approved_installments=6,
                    )
                ],
            )
            # p1: an earlier approval with another method moves it an hour back, then a refund.
            await conn.execute(
                p.update()
                .where(p.c.payment_id == "p1")
                .values(first_approved_at=9 * hour, approved_method="master")
            )
            await conn.execute(
                p.update()
                .where(p.c.payment_id == "p1")
                .values(
                    status="refunded",
                    status_at=13 * hour,
                    refunded_at=13 * hour,
                    refunded_cents=400,
                    refunded_currency="ARS",
                )
            )
            await conn.execute(
                p.update()
                .where(p.c.payment_id == "p4")
                .values(
                    status="charged_back",
                    status_at=14 * hour,
                    charged_back_at=14 * hour,
                    chargeback_cents=1000,
                    chargeback_currency="ARS",
                )
            )
            await conn.execute(
                p.update()
                .where(p.c.payment_id == "p2")
                .values(status="rejected", status_at=15 * hour)
            )
            # u2 is first seen after paying; u1's first touch moves to Instagram.
            await conn.execute(
                units.insert(),
                [
                    {
                        "unit": "u2",
                        "first_at": 1,
                        "first_session_id": "s2",
                        "referral_channel": "google",
                    }
                ],
            )
            await conn.execute(
                units.update().where(units.c.unit == "u1").values(referral_channel="instagram")
            )
        after = await kept()
        assert after == await afresh()
        assert (9, "approved_method", "ARS", "master", "credit_card", 1, 1000, 0) in after
        assert (12, "payer_channel", "ARS", "google", "", 1, 1000, 0) in after
        assert (9, "payer_channel", "ARS", "instagram", "", 1, 1000, 0) in after
        assert not [
            row for row in after if row[1] == "approved" and row[0] == 10 and row[2] == "ARS"
        ]
    finally:
        await engine.dispose()


def _session(sid: str, start: int, user: str | None, **columns: Any) -> dict[str, Any]:
    """A row of ``sessions`` started (and last seen) at ``start``, with ``columns`` besides."""
    return {
        "session_id": sid,
        "explicit": False,
        "started_at": start,
        "last_seen_at": start,
        "event_count": 1,
        "user_id": user,
        **columns,
    }


async def test_client_days_are_built_and_kept_by_the_triggers(database_url: str) -> None:
    """Migration 0009 counts clients' sessions by ART day with each client's first day; the
    triggers follow new sessions, a start moving to another day, a session getting its user or
    turning out a provider's, and a client first seen (or first seen earlier) after the fact."""
    engine = create_engine(database_url)
    s, cd, units = tables.sessions, tables.client_days, tables.units
    day_us = 86_400_000_000
    day = 20_000
    at = day * day_us + 3 * 3_600_000_000  # 00:00 ART of that day

    def session(sid: str, start: int, user: str | None, kind: str | None = None) -> dict[str, Any]:
        return _session(sid, start, user, user_type=kind)

    def unit(name: str, first_at: int) -> dict[str, Any]:
        return {"unit": name, "first_at": first_at, "first_session_id": f"s-{name}"}

    async def stored() -> dict[tuple[int, str], tuple[int, int | None]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(cd).where(cd.c.sessions != 0))
            return {(r.day, r.user_id): (r.sessions, r.first_day) for r in rows}

    try:
        await migrate.upgrade(engine, "0008")
        async with engine.begin() as conn:
            await conn.execute(units.insert(), [unit("u1", at - 3 * day_us)])
            await conn.execute(
                s.insert(),
                [
                    session("a", at + 10, "u1"),
                    session("b", at + 20, "u1"),
                    session("c", at + 30, "p1", "provider"),
                    session("d", at + 40, None),
                ],
            )
        # Up to 0011: the units are written by hand here, as the writer wrote them before 0012
        # (whose PostgreSQL triggers choose them from the sessions).
        await migrate.upgrade(engine, "0011")
        assert await stored() == {(day, "u1"): (2, day - 3)}
        async with engine.begin() as conn:
            # u2's session comes before its unit (the writer's order); d gets its user u2.
            await conn.execute(s.insert(), [session("e", at + 50, "u2", "client")])
            await conn.execute(units.insert(), [unit("u2", at + 50)])
            await conn.execute(s.update().where(s.c.session_id == "d").values(user_id="u2"))
            # A late event moves b's start to the day before; a is a provider's after all.
            await conn.execute(s.update().where(s.c.session_id == "b").values(started_at=at - 1))
            await conn.execute(s.update().where(s.c.session_id == "a").values(user_type="provider"))
        assert await stored() == {(day, "u2"): (2, day), (day - 1, "u1"): (1, day - 3)}
        async with engine.begin() as conn:
            # A late event shows u2 was first seen a week earlier.
            await conn.execute(
                units.update().where(units.c.unit == "u2").values(first_at=at - 7 * day_us)
            )
        assert await stored() == {(day, "u2"): (2, day - 7), (day - 1, "u1"): (1, day - 3)}
    finally:
        await engine.dispose()


async def test_cohort_weeks_are_built_and_kept_by_the_triggers(database_url: str) -> None:
    """Migration 0010 counts clients by cohort and payment week; the triggers follow new weeks
    of known clients, new clients (before or after their weeks), a cohort moving earlier, and
    an update that leaves a cohort as it was."""
    engine = create_engine(database_url)
    cw, cc, counts = tables.client_weeks, tables.client_cohorts, tables.cohort_weeks

    async def stored() -> dict[tuple[int, int], int]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(counts).where(counts.c.clients != 0))
            return {(r.cohort_week, r.week): r.clients for r in rows}

    async def joined() -> dict[tuple[int, int], int]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(cc.c.cohort_week, cw.c.week, func.count())
                .select_from(cc.join(cw, cw.c.unit == cc.c.unit))
                .group_by(cc.c.cohort_week, cw.c.week)
            )
            return {(c, w): n for c, w, n in rows}

    try:
        await migrate.upgrade(engine, "0009")
        async with engine.begin() as conn:
            await conn.execute(cw.insert(), [{"unit": "a", "week": 10}, {"unit": "a", "week": 11}])
            await conn.execute(cc.insert(), [{"unit": "a", "cohort_week": 10}])
        await migrate.upgrade(engine)
        assert await stored() == {(10, 10): 1, (10, 11): 1}
        async with engine.begin() as conn:
            # a pays again in week 12; b's weeks come before its cohort (the writer's order);
            # c's cohort comes first, then its week.
            await conn.execute(
                cw.insert(),
                [{"unit": "a", "week": 12}, {"unit": "b", "week": 11}, {"unit": "b", "week": 12}],
            )
            await conn.execute(cc.insert(), [{"unit": "b", "cohort_week": 11}])
            await conn.execute(cc.insert(), [{"unit": "c", "cohort_week": 12}])
            await conn.execute(cw.insert(), [{"unit": "c", "week": 12}])
        assert await stored() == await joined()
        assert await stored() == {
            (10, 10): 1,
            (10, 11): 1,
            (10, 12): 1,
            (11, 11): 1,
            (11, 12): 1,
            (12, 12): 1,
        }
        async with engine.begin() as conn:
            # A late payment moves b's cohort a week earlier; a's is set to what it was.
            await conn.execute(cw.insert(), [{"unit": "b", "week": 10}])
            await conn.execute(cc.update().where(cc.c.unit == "b").values(cohort_week=10))
            await conn.execute(cc.update().where(cc.c.unit == "a").values(cohort_week=10))
        assert await stored() == await joined()
        assert await stored() == {(10, 10): 2, (10, 11): 2, (10, 12): 2, (12, 12): 1}
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_upgrade_waits_for_the_writers_of_running_instances(postgres_url: str) -> None:
    """On PostgreSQL an upgrade first takes the event writers' advisory lock: a migration that
    locks several tables must not start while a writer holds some of them (a deadlock)."""
    engine = create_engine(postgres_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as writer:
            await writer.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": locks.WRITER})
            upgrading = asyncio.ensure_future(migrate.upgrade(engine))
            done, _ = await asyncio.wait({upgrading}, timeout=1)
            assert not done  # still waiting for the writer's transaction
            await writer.commit()
        await asyncio.wait_for(upgrading, timeout=30)
    finally:
        await engine.dispose()


async def test_units_follow_the_sessions_written_on_postgresql(postgres_url: str) -> None:
    """Migration 0012: every statement writing sessions brings the first touches up to date,
    as the writer's own statement did: the earliest (started_at, session_id) per session id and
    per user id, an earlier session replacing, the same session refreshing its dimensions, and
    an upsert choosing over the rows it inserted and those it updated."""
    engine = create_engine(postgres_url)
    s, u = tables.sessions, tables.units

    def session(sid: str, start: int, user: str | None, province: str | None = None) -> Any:
        return _session(sid, start, user, province=province)

    async def units() -> dict[str, tuple[Any, ...]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(u))
            return {
                r.unit: (r.first_at, r.first_session_id, r.province, r.device_type) for r in rows
            }

    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(
                s.insert(),
                [
                    session("b", 20, "c-1", province="AR-C"),
                    session("a", 20, "c-1"),
                    session("z", 5, None),
                ],
            )
        assert await units() == {
            "a": (20, "a", None, None),
            "b": (20, "b", "AR-C", None),
            "z": (5, "z", None, None),
            "c-1": (20, "a", None, None),  # a tie on time: the smaller session id
        }
        async with engine.begin() as conn:
            # A late start gives a its device; c-1 turns out to have come earlier, in z.
            await conn.execute(s.update().where(s.c.session_id == "a").values(device_type="mobile"))
            await conn.execute(s.update().where(s.c.session_id == "z").values(user_id="c-1"))
        found = await units()
        assert found["a"] == (20, "a", None, "mobile")
        assert found["c-1"] == (5, "z", None, None)
        # One upsert that inserts y (c-2, later) and moves b earlier than anything (c-2 too).
        stmt = pg_insert(s).values([session("y", 30, "c-2"), session("b", 1, "c-2")])
        stmt = stmt.on_conflict_do_update(
            index_elements=["session_id"],
            set_={"started_at": stmt.excluded.started_at, "user_id": stmt.excluded.user_id},
        )
        async with engine.begin() as conn:
            await conn.execute(stmt)
        found = await units()
        assert (found["y"], found["b"]) == ((30, "y", None, None), (1, "b", "AR-C", None))
        assert found["c-2"] == (1, "b", "AR-C", None)
    finally:
        await engine.dispose()


async def _downgrade(engine: AsyncEngine, target: str) -> None:
    """Take the schema down to ``target``, in one transaction as ``migrate.upgrade`` does."""

    def run(connection: Connection) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, target)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def test_buckets_before_1970_are_floored_by_the_triggers(database_url: str) -> None:
    """Migration 0013: the triggers bucket by floor division, as the writer does, and the rows
    they had put in the bucket after their own (instants before 1970) move to theirs; downgrade
    brings back the old rounding and upgrading again floors them once more."""
    engine = create_engine(database_url)
    s, sd, cd, units = tables.sessions, tables.session_days, tables.client_days, tables.units
    p, ph, fs, fd = tables.payments, tables.payment_hours, tables.funnel_starts, tables.funnel_days
    hour = HOUR_US

    def payment(pid: str, at: int, **fields: Any) -> dict[str, Any]:
        return {
            "payment_id": pid,
            "status": "approved",
            "status_at": at,
            "event_id": f"e-{pid}",
            "amount_cents": 1000,
            "currency": "ARS",
            "first_approved_at": at,
            "approved_amount_cents": 1000,
            "approved_currency": "ARS",
            "approved_commission_cents": 100,
            **fields,
        }

    async def snapshot() -> dict[str, Any]:
        """The rollups as kept, and as the sessions, units and payments give them afresh."""
        async with engine.connect() as conn:
            # The columns every revision has (a later one adds province_as_sent).
            sessions = list(
                await conn.execute(
                    select(s.c.started_at, s.c.device_type, s.c.user_id, s.c.user_type)
                )
            )
            first_at = dict(
                (await conn.execute(select(units.c.unit, units.c.first_at))).tuples().all()
            )
            kept = {
                "session_days": {
                    (r.day, r.device_type): r.sessions
                    for r in await conn.execute(select(sd).where(sd.c.sessions != 0))
                },
                "client_days": {
                    (r.day, r.user_id): (r.sessions, r.first_day)
                    for r in await conn.execute(select(cd).where(cd.c.sessions != 0))
                },
                "payment_hours": sorted(
                    (r.hour, r.measure, r.payments)
                    for r in await conn.execute(select(ph).where(ph.c.payments != 0))
                ),
                "funnel_days": sorted(
                    (r.day, r.unit, r.t1) for r in await conn.execute(select(fd))
                ),
            }
            afresh = sorted(
                (int(r[1]), r[0], int(r[5]))
                for r in await conn.execute(revenue.grouped_payments(-(10**18), 10**18))
            )
        days: dict[tuple[int, str], int] = {}
        clients: dict[tuple[int, str], int] = {}
        for r in sessions:
            days[art_day(r.started_at), r.device_type or ""] = (
                days.get((art_day(r.started_at), r.device_type or ""), 0) + 1
            )
            if r.user_id is not None and r.user_type != "provider":
                key = (art_day(r.started_at), r.user_id)
                clients[key] = clients.get(key, 0) + 1
        first = {u: art_day(at) for u, at in first_at.items()}
        return {
            "kept": kept,
            "session_days": days,
            "client_days": {k: (n, first.get(k[1])) for k, n in clients.items()},
            "payment_hours": afresh,
        }

    def floored(found: dict[str, Any]) -> bool:
        """Whether every rollup equals its rows regrouped with floored buckets."""
        kept = found["kept"]
        return all(kept[name] == found[name] for name in ("session_days", "client_days")) and (
            kept["payment_hours"] == found["payment_hours"]
        )

    # ART day -1 runs from 1969-12-31T03:00Z to 1970-01-01T03:00Z; hour -1 is 23:00Z-24:00Z.
    try:
        await migrate.upgrade(engine, "0012")
        async with engine.begin() as conn:
            await conn.execute(
                units.insert(), [{"unit": "u1", "first_at": -2 * hour, "first_session_id": "a"}]
            )
            await conn.execute(
                s.insert(),
                [
                    _session("a", -2 * hour, "u1", device_type="mobile"),
                    _session("b", 2 * hour, "u1", device_type="mobile"),
                    _session("c", 5 * hour, "u2", device_type="desktop"),
                    _session("d", -30 * hour, None, device_type="desktop"),
                ],
            )
            await conn.execute(
                p.insert(),
                [
                    payment("p1", -1),
                    payment("p2", -3 * hour - 5, status="rejected", first_approved_at=None),
                    payment("p3", 5),
                ],
            )
            await conn.execute(
                fs.insert(),
                [{"event_id": "f1", "unit": "u1", "t1": -5 * hour, "reach": 2, "t2": -4 * hour}],
            )
            # As migration 0005 built it: in ART day 0, rounded towards zero.
            await conn.execute(
                fd.insert(),
                [{"day": 0, "unit": "u1", "reach": 2, "t1": -5 * hour, "g2": hour}],
            )
        before = await snapshot()
        assert not floored(before)  # the old triggers round towards zero
        assert (0, "mobile") in before["kept"]["session_days"]
        await migrate.upgrade(engine)
        after = await snapshot()
        assert floored(after)
        assert after["kept"]["session_days"] == {
            (-1, "mobile"): 2,
            (0, "desktop"): 1,
            (-2, "desktop"): 1,
        }
        assert after["kept"]["client_days"][-1, "u1"] == (2, -1)
        assert (-1, "approved", 1) in after["kept"]["payment_hours"]
        assert (-4, "rejected", 1) in after["kept"]["payment_hours"]
        assert after["kept"]["funnel_days"] == [(-1, "u1", -5 * hour)]
        async with engine.begin() as conn:
            # The new triggers: a session and a payment before 1970, a start moving a day back,
            # an approval moving an hour back, a client first seen a day earlier.
            await conn.execute(s.insert(), [_session("e", -1, "u3", device_type="tablet")])
            await conn.execute(s.update().where(s.c.session_id == "c").values(started_at=-hour))
            await conn.execute(
                p.update().where(p.c.payment_id == "p3").values(first_approved_at=-hour - 1)
            )
            await conn.execute(p.insert(), [payment("p4", -2 * hour + 7)])
            await conn.execute(
                units.update().where(units.c.unit == "u1").values(first_at=-30 * hour)
            )
        assert floored(await snapshot())
        await _downgrade(engine, "0012")
        down = await snapshot()
        # Rounded towards zero again: approvals at -1 us in hour 0, at -1 h - 1 us and
        # -2 h + 7 us in hour -1, the rejection at -3 h - 5 us in hour -3.
        assert [
            row for row in down["kept"]["payment_hours"] if row[1] in ("approved", "rejected")
        ] == [(-3, "rejected", 1), (-1, "approved", 2), (0, "approved", 1)]
        assert (0, "mobile") in down["kept"]["session_days"]
        await migrate.upgrade(engine)
        assert floored(await snapshot())
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()
