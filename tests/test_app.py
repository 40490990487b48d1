"""The application's life: what start-up leaves frozen for the garbage collector."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest


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
