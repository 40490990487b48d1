"""Read bucketed rollups exactly over any range: whole buckets from the rollup, edges raw.

Hourly rollups by default; daily ones (ART days) pass their bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from barberpro.analytics.range import Range
from barberpro.argentina.timezone import HOURS


async def sums(
    conn: AsyncConnection,
    span: Range,
    *,
    keys: int,
    from_rollup: Callable[[int, int], Select[Any]],
    from_events: Callable[[int, int], Select[Any]],
    bucket: tuple[int, int] = HOURS,
) -> dict[tuple[Any, ...], list[int]]:
    """Return ``{key columns: summed value columns}`` over ``span``.

    ``from_rollup(lo, hi)`` (bucket numbers, ``bucket`` = (width, offset) in microseconds, see
    ``Range.whole``) and ``from_events(start_us, end_us)`` must select the same columns:
    ``keys`` grouping columns, then the values to add up.
    """
    selects = []
    lo, hi = span.whole(*bucket)
    if lo < hi:
        selects.append(from_rollup(lo, hi))
    selects.extend(from_events(a, b) for a, b in span.outside(*bucket))
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
