"""One whole day's funnel, read from indexes, equals the day's rows tallied afresh."""

from __future__ import annotations

import random
from statistics import median
from typing import Any

import pytest

from barberpro.analytics import funnel, funnel_definition
from barberpro.analytics.funnel_definition import LAST_STEP
from barberpro.analytics.range import Range
from barberpro.argentina.timezone import ART_OFFSET_US, DAY_US
from barberpro.db import migrate, tables
from barberpro.db.engine import create_engine

DAY = 20_400
SPAN = Range(DAY * DAY_US + ART_OFFSET_US, (DAY + 1) * DAY_US + ART_OFFSET_US)
DIMENSIONS = {
    "province": "province",
    "device": "device_type",
    "referral_channel": "referral_channel",
}


def _rows(seed: int, *, unknown: tuple[Any, ...] = (None,)) -> list[dict[str, Any]]:
    """A day's chosen chains: reach 1-5, gaps for the steps reached, first touches (some
    unknown), on the day and on the days around it."""
    rng = random.Random(seed)
    rows = []
    for n in range(400):
        reach = rng.choice([1, 1, 1, 2, 2, 3, 4, 5])
        # Few distinct gaps: ties, and groups whose middle two gaps are equal.
        gaps = {f"g{k}": rng.randrange(1, 40) * 1_000_000 for k in range(2, reach + 1)}
        rows.append(
            {
                "day": rng.choice([DAY - 1, DAY, DAY, DAY, DAY + 1]),
                "unit": f"u{n}",
                "reach": reach,
                "t1": 0,
                **{f"g{k}": gaps.get(f"g{k}") for k in range(2, LAST_STEP + 1)},
                "province": rng.choice(["AR-C", "AR-B", "AR-X", *unknown]),
                "device_type": rng.choice(["mobile", "mobile", "desktop", *unknown]),
                "referral_channel": rng.choice(["whatsapp", "instagram", "direct", *unknown]),
            }
        )
    return rows


def _expected(rows: list[dict[str, Any]], column: str | None) -> dict[str, Any]:
    """Units by step and median seconds per group of ``column`` (None: every unit)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["day"] == DAY:
            key = (row[column] or funnel_definition.UNKNOWN) if column else ""
            groups.setdefault(key, []).append(row)
    found = {}
    for key, members in groups.items():
        steps = []
        for step in range(1, LAST_STEP + 1):
            reached = [r for r in members if r["reach"] >= step]
            gaps = [r[f"g{step}"] for r in reached] if step > 1 else []
            steps.append((len(reached), median(gaps) / 1e6 if gaps else None))
        found[key] = steps
    return found


def _got(steps: list[dict[str, Any]]) -> list[tuple[int, float | None]]:
    return [(s["units"], s["median_seconds_from_previous"]) for s in steps]


async def _check(
    database_url: str, rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> list[bool]:
    """Compare each report section with the rows; return, per call, whether it came from the
    indexes (``funnel._one_day``) rather than from the rows tallied."""
    read = funnel._one_day
    from_indexes: list[bool] = []

    async def spied(*args: Any, **kwargs: Any) -> funnel.Summary | None:
        found = await read(*args, **kwargs)
        from_indexes.append(found is not None)
        return found

    monkeypatch.setattr(funnel, "_one_day", spied)
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(tables.funnel_days.insert(), rows)
        async with engine.connect() as conn:
            for chosen in ((), ("device",), tuple(funnel_definition.BREAKDOWNS)):
                found = await funnel.tallied(conn, SPAN, window_hours=24, breakdowns=chosen)
                section = found.section
                assert {"": _got(section["steps"])} == _expected(rows, None), chosen
                assert list(section["breakdowns"]) == list(chosen)
                for name, groups in section["breakdowns"].items():
                    got = {group["value"]: _got(group["steps"]) for group in groups}
                    assert got == _expected(rows, DIMENSIONS[name]), (chosen, name)
                channels = _expected(rows, "referral_channel")
                assert found.by_channel == {
                    key: (steps[0][0], steps[-1][0]) for key, steps in channels.items()
                }
    finally:
        await engine.dispose()
    return from_indexes


async def test_one_day_from_indexes_equals_its_rows_tallied(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units by step, median gaps (odd and even counts, ties), each breakdown and the units
    by channel, with and without breakdowns, on the day only (not the days around it)."""
    from_indexes = await _check(database_url, _rows(seed=1), monkeypatch)
    # Breakdowns come from indexes on SQLite only; PostgreSQL groups them itself.
    assert from_indexes == [True] * (3 if database_url.startswith("sqlite") else 1)


async def test_unknown_stored_two_ways_is_one_group(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first touch unknown as NULL and as empty text is one "unknown" group, its medians
    taken over both (no one index range holds them: the rows are tallied instead)."""
    from_indexes = await _check(database_url, _rows(seed=2, unknown=(None, "")), monkeypatch)
    assert from_indexes == [False] * (3 if database_url.startswith("sqlite") else 1)
