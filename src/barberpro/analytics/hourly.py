"""Read hourly rollups exactly over any range: whole hours from the rollup, edges from events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.range import Range


async def sums(
    conn: AsyncConnection,
    span: Range,
    *,
    keys: int,
    from_rollup: Callable[[int, int], Select[Any]],
    from_events: Callable[[int, int], Select[Any]],
) -> dict[tuple[Any, ...], list[int]]:
    """Return ``{key columns: summed value columns}`` over ``span``.

    ``from_rollup(lo_hour, hi_hour)`` and ``from_events(start_us, end_us)`` must select the
    same columns: ``keys`` grouping columns, then the values to add up.
    """
    selects = []
    lo, hi = span.full_hours()
    if lo < hi:
        selects.append(from_rollup(lo, hi))
    selects.extend(from_events(a, b) for a, b in span.edges())
    found: dict[tuple[Any, ...], list[int]] = {}
    for select in selects:
        for row in await conn.execute(select):
            key = tuple(row[:keys])
            values = [int(v or 0) for v in row[keys:]]
            known = found.get(key)
            if known is None:
                found[key] = values
            else:
                for i, v in enumerate(values):
                    known[i] += v
    return found
