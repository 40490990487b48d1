"""Migrations build exactly the schema of barberpro.db.tables, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, text

from barberpro.db import migrate, tables
from barberpro.db.engine import create_engine


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), tables.metadata))


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


async def test_funnel_starts_copy_and_follow_their_units_first_touch(database_url: str) -> None:
    """Migration 0005 copies each unit's first touch onto its starts; the trigger keeps it."""
    engine = create_engine(database_url)
    fs, units = tables.funnel_starts, tables.units
    touch = {"province": "AR-C", "device_type": "mobile", "referral_channel": "whatsapp"}
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
            await conn.execute(
                text(
                    "INSERT INTO funnel_starts (event_id, unit, t1, reach) VALUES "
                    "('e1', 'u1', 20, 1), ('e2', 'u1', 30, 1), ('e3', 'u2', 20, 1), "
                    "('e4', 'nobody', 20, 1)"
                )
            )
        await migrate.upgrade(engine)

        async def stored() -> dict[str, tuple[object, ...]]:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(fs.c.event_id, fs.c.province, fs.c.device_type, fs.c.referral_channel)
                )
                return {row[0]: tuple(row[1:]) for row in rows}

        copied = ("AR-C", "mobile", "whatsapp")
        assert await stored() == {
            "e1": copied,
            "e2": copied,
            "e3": copied,
            "e4": (None, None, None),
        }
        async with engine.begin() as conn:
            # An earlier session of u1 becomes its first touch: its starts follow, u2's stay.
            await conn.execute(
                units.update()
                .where(units.c.unit == "u1")
                .values(first_at=5, first_session_id="s0", province="AR-X", device_type="desktop")
            )
        moved = ("AR-X", "desktop", "whatsapp")
        assert await stored() == {
            "e1": moved,
            "e2": moved,
            "e3": copied,
            "e4": (None, None, None),
        }
    finally:
        await engine.dispose()
