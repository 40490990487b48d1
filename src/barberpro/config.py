"""Settings of the service, read from the environment with the prefix ``BARBERPRO_``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./barberpro.db"
#: Production refuses shorter admin, ingest and metrics tokens.
MIN_TOKEN_LENGTH = 32
#: The key provider CUITs are hashed under in development when BARBERPRO_IDENTITY_HASH_KEY is
#: unset. Public, so its hashes protect nothing: production refuses to start without a key.
DEVELOPMENT_IDENTITY_HASH_KEY = "barberpro-development-identity-hash-key-not-secret"


class ConfigurationError(RuntimeError):
    """The settings cannot run the service; the message names the setting to fix."""


class Settings(BaseSettings):
    """Every setting of the service; the entry point builds one and passes it down."""

    model_config = SettingsConfigDict(env_prefix="BARBERPRO_", env_file=None, extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    # Shared state (alert leadership and states, monitoring windows, Socket.IO rooms):
    # memory:// (one process), file:///dir (the workers of one host) or redis://host/db. The
    # older BARBERPRO_REDIS_URL is used when this is unset.
    shared_state_url: str | None = None
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
    # Events dated further back than this are refused (a typo'd year, a clock reset to 1970).
    max_past_days: int = Field(default=400, ge=1, le=36_500)
    # Group commit: most events one transaction takes, and requests waiting beyond which 503.
    ingest_max_batch_rows: int = Field(default=5000, gt=0)
    ingest_queue_limit: int = Field(default=100_000, gt=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    db_pool_size: int = Field(default=10, gt=0)
    db_max_overflow: int = Field(default=10, ge=0)
    migrate_on_start: bool = True
    log_level: str = "info"
    log_json: bool = False
    # One log line per answered request: method, route template, status, duration (no query).
    access_log: bool = False

    # --- Monitoring and realtime (barberpro.monitoring, barberpro.realtime) ---
    # Off: no timing middleware and no query timing (the routes still answer, with nothing).
    monitoring_enabled: bool = True
    # Statements slower than this are logged (fingerprint only, never the parameters).
    slow_query_ms: float = Field(default=50, ge=0)
    # This instance's name in metrics and the dashboard (default: the host name).
    instance_name: str | None = None
    # A token that may read /metrics (for the Prometheus scraper), besides the admin token.
    metrics_token: SecretStr | None = None
    # Workers/instances publish their windows this often, and the merged views lag by as much.
    monitoring_share_interval_s: float = Field(default=1.0, gt=0, le=60)
    system_sample_interval_s: float = Field(default=1.0, gt=0, le=60)
    # An external socket server's `active` counts until its report is this old.
    ws_report_ttl_s: float = Field(default=300, gt=0)
    # The live dashboard pushed to the Socket.IO room "dashboard" this often.
    realtime_push_interval_s: float = Field(default=5, gt=0)
    # Each process writes its hours of monitoring series to `ops_hours` this often (the launch
    # report's operations); a stopping process writes once more.
    ops_flush_interval_s: float = Field(default=60, gt=0, le=3600)
    # The key of the HMAC-SHA256 under which a provider's CUIT is stored (never the number);
    # required in production, and changing it makes earlier hashes unmatchable.
    identity_hash_key: SecretStr | None = None
    # Health thresholds: degraded at the first, critical (503) at the second.
    health_db_timeout_s: float = Field(default=2, gt=0)
    health_memory_degraded_percent: float = Field(default=70, ge=0)
    health_memory_critical_percent: float = Field(default=80, ge=0)
    health_disk_degraded_percent: float = Field(default=90, ge=0)
    health_disk_critical_percent: float = Field(default=98, ge=0)
    # Test only: GET /api/v1/monitoring/test/slow?ms=&status= sleeps (default this many ms).
    test_routes: bool = False
    test_route_delay_ms: float = Field(default=0, ge=0)

    @field_validator("metrics_token", "instance_name", mode="before")
    @classmethod
    def _monitoring_blank_is_unset(cls, value: object) -> object:
        """Treat an empty monitoring variable as unset."""
        return None if value == "" else value

    # --- end of monitoring and realtime ---

    # --- Alerts (barberpro.alerts) ---
    # Evaluate the alert rules in this instance (with several, the one holding the lease does).
    alert_enabled: bool = True
    alert_interval_s: float = Field(default=10, gt=0)
    # Rule overrides: a TOML file of [rules.NAME] tables, then JSON {"NAME": {...}} on top.
    alert_rules_file: str | None = None
    alert_rules: str | None = None
    # Notifications are POSTed here (Alertmanager webhook shape with a Slack "text").
    alert_webhook_url: str | None = None
    alert_webhook_timeout_s: float = Field(default=5, gt=0)
    alert_webhook_attempts: int = Field(default=3, ge=1)

    # --- The optimization engine (barberpro.optimization) ---
    optimization_enabled: bool = True
    # Record every decision and do nothing.
    optimization_dry_run: bool = False
    optimization_interval_s: float = Field(default=5, gt=0, le=300)
    # Signals are read over this trailing window, and an action is judged over an equal one
    # after settling for optimization_settle_s.
    optimization_window_s: float = Field(default=60, ge=10, le=900)
    optimization_settle_s: float = Field(default=30, ge=0, le=3600)
    # An action rolled back is not retried before this.
    optimization_cooldown_s: float = Field(default=600, ge=0)
    # Route caching's store: unset is the memory store of each process, or Redis when the
    # shared state is Redis (cashews URLs: mem://, redis://host:6379/0).
    optimization_cache_url: str | None = None
    # Create the planner-checked index suggestions (CONCURRENTLY on PostgreSQL), audited, and
    # drop them again when the p95 of their queries did not improve.
    auto_index: bool = False

    # --- MercadoPago payments (barberpro.payments) ---
    # The webhook secret of "Your integrations" (HMAC of x-signature); required in production.
    mp_webhook_secret: SecretStr | None = None
    # The access token the worker sends to MercadoPago's API; required in production.
    mp_access_token: SecretStr | None = None
    mp_api_url: str = "https://api.mercadopago.com"
    # Replay window on the signature's ts, in seconds; unset (the default) turns it off.
    mp_signature_tolerance_s: float | None = Field(default=None, gt=0)
    # Processing attempts of one notification before it goes to the dead-letter list.
    mp_max_attempts: int = Field(default=8, ge=1)
    # A payment MercadoPago answers 404 for this many times goes to the dead letters (not_found).
    mp_not_found_attempts: int = Field(default=3, ge=1)
    # Backoff between the queue's attempts: the base doubles per attempt up to the cap, jittered.
    mp_retry_base_s: float = Field(default=5.0, gt=0)
    mp_retry_cap_s: float = Field(default=900.0, gt=0)
    # Retries inside one attempt (timeouts, 429, 5xx), with their own quicker backoff.
    mp_call_attempts: int = Field(default=3, ge=1)
    mp_call_backoff_base_s: float = Field(default=0.25, gt=0)
    mp_call_backoff_cap_s: float = Field(default=4.0, gt=0)
    mp_http_timeout_s: float = Field(default=10.0, gt=0)
    # Circuit breaker: open after this many consecutive failures; one trial call after reset.
    mp_breaker_failures: int = Field(default=5, ge=1)
    mp_breaker_reset_s: float = Field(default=30.0, gt=0)
    # The in-service worker: notifications processed at once, claim lease, idle poll. The lease
    # must outlast one attempt (call attempts x HTTP timeout + backoff, twice for a chargeback).
    mp_worker_enabled: bool = True
    mp_worker_concurrency: int = Field(default=8, ge=1, le=256)
    mp_lease_s: float = Field(default=120.0, gt=0)
    mp_poll_s: float = Field(default=1.0, gt=0)

    # --- Retention (barberpro.db.retention) ---
    # Processed MercadoPago notifications and alert history older than this are deleted, at
    # start and then every retention_interval_s.
    retention_days: float = Field(default=30, gt=0)
    retention_interval_s: float = Field(default=3600, gt=0)

    @field_validator(
        "mp_webhook_secret", "mp_access_token", "mp_signature_tolerance_s", mode="before"
    )
    @classmethod
    def _mp_blank_is_unset(cls, value: object) -> object:
        """Treat an empty MercadoPago variable as unset."""
        return None if value == "" else value

    def _mercadopago_problems(self) -> list[str]:
        """Return what stops the MercadoPago settings from running (empty when fine)."""
        found: list[str] = []
        if self.env == "production":
            if self.mp_webhook_secret is None:
                found.append("BARBERPRO_MP_WEBHOOK_SECRET is not set; production needs it")
            if self.mp_access_token is None:
                found.append("BARBERPRO_MP_ACCESS_TOKEN is not set; production needs it")
        if not self.mp_api_url.startswith(("http://", "https://")):
            found.append("BARBERPRO_MP_API_URL must start with http:// or https://")
        return found

    # --- end of MercadoPago payments ---

    @field_validator("admin_token", "ingest_token", "identity_hash_key", mode="before")
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

    @property
    def identity_key(self) -> bytes:
        """The HMAC key of stored CUITs: BARBERPRO_IDENTITY_HASH_KEY, else the development key."""
        key = self.identity_hash_key
        return (key.get_secret_value() if key else DEVELOPMENT_IDENTITY_HASH_KEY).encode()

    @property
    def state_url(self) -> str:
        """The URL of the shared state: the shared-state URL, else the Redis URL, else memory."""
        return self.shared_state_url or self.redis_url or "memory://"

    def problems(self) -> list[str]:
        """Return what stops these settings from running, in plain words (empty when fine)."""
        found: list[str] = []
        if self.env == "production":
            if self.admin_token is None:
                found.append("BARBERPRO_ADMIN_TOKEN is not set; production needs it")
            if self.ingest_token is None:
                found.append("BARBERPRO_INGEST_TOKEN is not set; production needs it")
            if self.identity_hash_key is None:
                found.append("BARBERPRO_IDENTITY_HASH_KEY is not set; production needs it")
            found.extend(self._token_problems())
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
        if self.shared_state_url is not None and not self.shared_state_url.startswith(
            ("redis://", "rediss://", "memory://", "file:///")
        ):
            found.append(
                "BARBERPRO_SHARED_STATE_URL must start with memory://, file:///, redis:// or "
                "rediss://"
            )
        found.extend(self._mercadopago_problems())
        from barberpro.alerts.rules import RuleError, load_rules  # alerts imports this module

        try:
            load_rules(file=self.alert_rules_file or None, env_json=self.alert_rules)
        except RuleError as exc:
            found.append(str(exc))
        return found

    def _token_problems(self) -> list[str]:
        """Production's rules for the tokens: long enough to resist guessing, and apart."""
        found: list[str] = []
        tokens = {
            "BARBERPRO_ADMIN_TOKEN": self.admin_token,
            "BARBERPRO_INGEST_TOKEN": self.ingest_token,
            "BARBERPRO_METRICS_TOKEN": self.metrics_token,
            # CUITs are few: a short key would let their hashes be guessed back.
            "BARBERPRO_IDENTITY_HASH_KEY": self.identity_hash_key,
        }
        for name, token in tokens.items():
            if token is not None and len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
                found.append(
                    f"{name} is shorter than {MIN_TOKEN_LENGTH} characters; production needs "
                    "a long random token (e.g. `openssl rand -hex 32`)"
                )
        admin, ingest = self.admin_token, self.ingest_token
        if (
            admin is not None
            and ingest is not None
            and admin.get_secret_value() == ingest.get_secret_value()
        ):
            found.append(
                "BARBERPRO_INGEST_TOKEN equals BARBERPRO_ADMIN_TOKEN: the token every "
                "client ships would read every report; give them different values"
            )
        return found

    def warnings(self) -> list[str]:
        """Return what runs but probably not as meant (doctor says these, the service logs)."""
        found: list[str] = []
        if self.mp_worker_enabled and self.mp_access_token is None:
            found.append(
                "BARBERPRO_MP_ACCESS_TOKEN is not set while the MercadoPago worker runs: every "
                "payment notification will fail to fetch its payment"
            )
        if self.mp_webhook_secret is None:
            found.append(
                "BARBERPRO_MP_WEBHOOK_SECRET is not set: MercadoPago webhooks are accepted "
                "without a signature (development only)"
            )
        if self.identity_hash_key is None and self.env != "production":  # production: problems
            found.append(
                "BARBERPRO_IDENTITY_HASH_KEY is not set: provider CUITs are hashed under the "
                "public development key (development only); changing the key later makes "
                "earlier hashes unmatchable"
            )
        return found

    def check(self) -> None:
        """Raise ConfigurationError naming every problem found by :meth:`problems`."""
        found = self.problems()
        if found:
            raise ConfigurationError("; ".join(found))
