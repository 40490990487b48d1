"""Alembic environment: runs on the connection that ``barberpro.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from barberpro.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `barberpro migrate`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
