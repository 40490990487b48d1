"""The application's life: the schema it needs, what start-up leaves frozen for the collector."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest

from barberpro.db import migrate
from barberpro.db.engine import create_engine


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_startup_objects_are_frozen_while_serving(app_factory: Callable[..., Any]) -> None:
    """Serving: start-up's objects are out of the collector's passes; after: back in them."""
    assert gc.get_freeze_count() == 0
    async with app_factory() as client:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, the app, its routes and models
        assert (await client.get("/api/v1/monitoring/health")).status_code == 200
        gc.collect()
        assert gc.get_freeze_count() > frozen // 2  # a full pass leaves them frozen
    assert gc.get_freeze_count() == 0


async def test_without_migrating_at_start_an_old_schema_is_refused(
    app_factory: Callable[..., Any], database_url: str
) -> None:
    """With BARBERPRO_MIGRATE_ON_START off the app will not run on a schema older than its
    code (it would write rows the code no longer keeps up to date); migrated, it starts."""
    with pytest.raises(RuntimeError, match="run `barberpro migrate`"):
        async with app_factory(migrate_on_start=False):
            pass
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    async with app_factory(migrate_on_start=False) as client:
        assert (await client.get("/api/v1/monitoring/health")).status_code == 200
