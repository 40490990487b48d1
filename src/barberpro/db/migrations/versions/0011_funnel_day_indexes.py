"""SQLite: indexes that answer a whole day's funnel breakdowns.

A whole ART day's funnel with breakdowns read every unit's row of `funnel_days` (20,000 at 5M
events) into Python on SQLite, which has no ordered-set aggregate for the median gaps: two
thirds of a full day's BI report. With these indexes each group's units by reach are index
counts, and each median gap the middle entry of a `(day, dimension, gap)` index, as the overall
funnel's already are. PostgreSQL groups and takes the medians itself (`GROUPING SETS`,
`percentile_cont`), so it does without them and without their cost at ingest.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REACH = {"province": "province", "device": "device_type"}
_GAPS = {"province": "province", "device": "device_type", "channel": "referral_channel"}


def _indexes() -> list[tuple[str, list[str], str | None]]:
    """Return each index as (name, columns, partial WHERE)."""
    found: list[tuple[str, list[str], str | None]] = [
        (f"ix_funnel_days_day_{name}_reach", ["day", column, "reach"], None)
        for name, column in _REACH.items()
    ]
    found += [
        (f"ix_funnel_days_day_{name}_g{k}", ["day", column, f"g{k}"], f"g{k} IS NOT NULL")
        for name, column in _GAPS.items()
        for k in range(2, 6)
    ]
    return found


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, columns, where in _indexes():
        op.create_index(
            name,
            "funnel_days",
            columns,
            unique=False,
            sqlite_where=sa.text(where) if where else None,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, _, _ in reversed(_indexes()):
        op.drop_index(name, table_name="funnel_days")
