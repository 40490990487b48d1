"""Settings: environment prefix, defaults, and production refusing to start without secrets."""

from __future__ import annotations

import pytest

from barberpro.app import create_app
from barberpro.config import DEVELOPMENT_IDENTITY_HASH_KEY, ConfigurationError, Settings


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite file, no Redis, 10% commission and a 24 h funnel window by default."""
    for name in ("DATABASE_URL", "REDIS_URL", "COMMISSION_RATE", "FUNNEL_WINDOW_HOURS", "ENV"):
        monkeypatch.delenv(f"BARBERPRO_{name}", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///./barberpro.db"
    assert settings.redis_url is None
    assert settings.commission_rate == 0.10
    assert settings.funnel_window_hours == 24
    assert settings.env == "development"


def test_settings_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """BARBERPRO_* variables set the fields; secrets stay hidden in repr."""
    monkeypatch.setenv("BARBERPRO_COMMISSION_RATE", "0.15")
    monkeypatch.setenv("BARBERPRO_ADMIN_TOKEN", "s3cret")
    settings = Settings()
    assert settings.commission_rate == 0.15
    assert "s3cret" not in repr(settings)
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "s3cret"


def test_production_refuses_to_start_without_tokens() -> None:
    """In production a missing token stops create_app, naming the setting."""
    settings = Settings(env="production", admin_token="a", ingest_token=None)
    with pytest.raises(ConfigurationError, match="BARBERPRO_INGEST_TOKEN"):
        create_app(settings)


def test_unknown_database_scheme_is_named() -> None:
    """A database URL of an unsupported scheme is reported with the setting's name."""
    problems = Settings(database_url="mysql://x/y").problems()
    assert any("BARBERPRO_DATABASE_URL" in p for p in problems)


LONG_ADMIN = "a" * 32
LONG_INGEST = "i" * 32


@pytest.mark.parametrize("name", ["admin_token", "ingest_token", "metrics_token"])
def test_production_refuses_a_short_token(name: str) -> None:
    """A production token under 32 characters is refused, naming its variable."""
    values = {"admin_token": LONG_ADMIN, "ingest_token": LONG_INGEST, name: "x" * 31}
    problems = Settings(env="production", **values).problems()  # type: ignore[arg-type]
    assert [p for p in problems if "shorter than 32" in p] == [
        next(p for p in problems if f"BARBERPRO_{name.upper()}" in p)
    ]


def test_production_refuses_an_ingest_token_equal_to_the_admin_token() -> None:
    """One value for both tokens would let every client read the reports: refused."""
    same = Settings(env="production", admin_token=LONG_ADMIN, ingest_token=LONG_ADMIN)
    assert any("equals BARBERPRO_ADMIN_TOKEN" in p for p in same.problems())
    apart = Settings(env="production", admin_token=LONG_ADMIN, ingest_token=LONG_INGEST)
    assert not [p for p in apart.problems() if "TOKEN" in p and "MP_" not in p]


def test_development_keeps_short_and_equal_tokens() -> None:
    """Outside production short or equal tokens are allowed (local trials)."""
    assert Settings(admin_token="a", ingest_token="a").problems() == []


def test_the_worker_without_an_access_token_is_a_warning() -> None:
    """A worker that cannot fetch payments, and an unsigned webhook, are said as warnings."""
    warnings = " ".join(Settings().warnings())
    assert "BARBERPRO_MP_ACCESS_TOKEN" in warnings
    assert "BARBERPRO_MP_WEBHOOK_SECRET" in warnings
    quiet = Settings(mp_worker_enabled=False, mp_webhook_secret="s", identity_hash_key="k")
    assert quiet.warnings() == []


def test_without_an_identity_key_development_hashes_under_a_named_key() -> None:
    """No BARBERPRO_IDENTITY_HASH_KEY: the public development key, said as a warning in
    development; production refuses to start instead."""
    bare = Settings(identity_hash_key=None)
    assert bare.identity_key == DEVELOPMENT_IDENTITY_HASH_KEY.encode()
    assert any("BARBERPRO_IDENTITY_HASH_KEY" in w for w in bare.warnings())
    assert Settings(identity_hash_key="k").identity_key == b"k"
    assert Settings(identity_hash_key="").identity_hash_key is None  # blank is unset
    production = Settings(env="production", identity_hash_key=None)
    assert any("BARBERPRO_IDENTITY_HASH_KEY" in p for p in production.problems())
    assert not [w for w in production.warnings() if "IDENTITY" in w]
