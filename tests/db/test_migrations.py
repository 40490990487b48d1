"""Migrations build exactly the schema of barberpro.db.tables, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

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
