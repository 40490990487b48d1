"""Operations (migration 0017): each process's monitoring series, hour by hour, for reports.

The live windows keep 15 minutes; a launch report needs the whole day. Every process writes
one row per UTC hour it served in (ART has no DST, so an hour is also an ART hour): its series
for that hour, cumulative, replaced on every flush, and a sample of its gauges a minute. Rows of
one hour from several processes and instances merge by adding, as the windows do.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from barberpro.db.tables.base import metadata

ops_hours = Table(
    "ops_hours",
    metadata,
    Column("hour", BigInteger, primary_key=True),  # epoch seconds // 3600
    Column("process", String(160), primary_key=True),  # instance:pid:start
    Column("series", Text, nullable=False),  # JSON [[key parts], Stat.to_list()]
    Column("samples", Text, nullable=False),  # JSON [[at, memory %, rss, cpu %, lag, ...]]
    Column("updated_at", BigInteger, nullable=False),  # epoch microseconds
)
