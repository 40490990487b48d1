"""Settings of the service, read from the environment with the prefix ``BARBERPRO_``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./barberpro.db"


class ConfigurationError(RuntimeError):
    """The settings cannot run the service; the message names the setting to fix."""


class Settings(BaseSettings):
    """Every setting of the service; the entry point builds one and passes it down."""

    model_config = SettingsConfigDict(env_prefix="BARBERPRO_", env_file=None, extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    admin_token: SecretStr | None = None
    ingest_token: SecretStr | None = None
    commission_rate: float = Field(default=0.10, ge=0, le=1)
    funnel_window_hours: float = Field(default=24, gt=0)
    session_timeout_minutes: float = Field(default=30, gt=0)
    # A province needs this much demand (searches + bookings) to be called underserved.
    market_min_demand: int = Field(default=20, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_batch_events: int = Field(default=1000, gt=0)
    max_future_hours: float = Field(default=23, ge=0)
    # Group commit: the writer waits at most this long for more requests before committing.
    ingest_max_batch_rows: int = Field(default=5000, gt=0)
    ingest_queue_limit: int = Field(default=100_000, gt=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    db_pool_size: int = Field(default=10, gt=0)
    db_max_overflow: int = Field(default=10, ge=0)
    migrate_on_start: bool = True
    log_level: str = "info"
    log_json: bool = False

    @field_validator("admin_token", "ingest_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """Treat an empty variable as unset, as shells and compose files often produce one."""
        return None if value == "" else value

    @property
    def is_sqlite(self) -> bool:
        """True when the database URL names SQLite."""
        return self.database_url.startswith("sqlite")

    @property
    def open_access(self) -> bool:
        """True when no token is configured, so every route is open (development only)."""
        return self.admin_token is None and self.ingest_token is None

    def problems(self) -> list[str]:
        """Return what stops these settings from running, in plain words (empty when fine)."""
        found: list[str] = []
        if self.env == "production":
            if self.admin_token is None:
                found.append("BARBERPRO_ADMIN_TOKEN is not set; production needs it")
            if self.ingest_token is None:
                found.append("BARBERPRO_INGEST_TOKEN is not set; production needs it")
        scheme = self.database_url.split(":", 1)[0]
        if scheme not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            found.append(
                f"BARBERPRO_DATABASE_URL has scheme {scheme!r}; "
                "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
            )
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "memory://")
        ):
            found.append("BARBERPRO_REDIS_URL must start with redis://, rediss:// or memory://")
        return found

    def check(self) -> None:
        """Raise ConfigurationError naming every problem found by :meth:`problems`."""
        found = self.problems()
        if found:
            raise ConfigurationError("; ".join(found))
