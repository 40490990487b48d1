"""Storage: the engine factory, the tables and the Alembic migrations."""
