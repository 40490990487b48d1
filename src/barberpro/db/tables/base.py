"""What every table shares: the metadata with its naming convention, identifier length, indexes
built on one database only."""

from __future__ import annotations

from sqlalchemy import Index, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 128  # longest accepted identifier (session, user, provider, booking ids)
ONLY_ON = "only_on"  # the Index.info key naming the one database an index is built on


def sqlite_only(index: Index) -> Index:
    """Return ``index``, built on SQLite alone: its ``info`` says so to schema comparisons."""
    index.info[ONLY_ON] = "sqlite"
    return index.ddl_if(dialect="sqlite")
