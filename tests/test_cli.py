"""The barberpro command: doctor, migrate, and serve refusing a production start without secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BARBERPRO = str(Path(sys.executable).with_name("barberpro"))


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BARBERPRO_")}
    return subprocess.run(
        [BARBERPRO, *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_reports_an_unmigrated_database_then_a_healthy_one(sqlite_url: str) -> None:
    """doctor says the schema needs `barberpro migrate`, and is content after it runs."""
    before = _run("doctor", BARBERPRO_DATABASE_URL=sqlite_url)
    assert before.returncode == 1
    assert "run `barberpro migrate`" in before.stderr
    migrated = _run("migrate", BARBERPRO_DATABASE_URL=sqlite_url)
    assert migrated.returncode == 0, migrated.stderr
    after = _run("doctor", BARBERPRO_DATABASE_URL=sqlite_url, BARBERPRO_MP_WORKER_ENABLED="false")
    assert after.returncode == 0, after.stderr
    assert "schema: at the newest revision" in after.stderr


def test_doctor_names_a_worker_without_token_and_an_unreachable_api(sqlite_url: str) -> None:
    """doctor fails on a MercadoPago worker with no token and an API it cannot reach."""
    assert _run("migrate", BARBERPRO_DATABASE_URL=sqlite_url).returncode == 0
    answer = _run(
        "doctor", BARBERPRO_DATABASE_URL=sqlite_url, BARBERPRO_MP_API_URL="http://127.0.0.1:1"
    )
    assert answer.returncode == 1
    assert "access token NOT set while the worker runs" in answer.stderr
    assert "API unreachable at http://127.0.0.1:1" in answer.stderr
    assert "BARBERPRO_MP_WEBHOOK_SECRET is not set" in answer.stderr


def test_doctor_names_an_unreachable_database_and_redis(tmp_path: Path) -> None:
    """doctor explains, in words, a database it cannot open and a Redis that does not answer."""
    answer = _run(
        "doctor",
        BARBERPRO_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        BARBERPRO_REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert answer.returncode == 1
    assert "database: cannot reach" in answer.stderr
    assert "redis: does not answer" in answer.stderr


def test_serve_refuses_production_without_tokens(sqlite_url: str) -> None:
    """serve in production without tokens exits at once naming the missing settings."""
    answer = _run(
        "serve", "--port", "1", BARBERPRO_ENV="production", BARBERPRO_DATABASE_URL=sqlite_url
    )
    assert answer.returncode == 2
    assert "BARBERPRO_ADMIN_TOKEN" in answer.stderr
    assert "BARBERPRO_INGEST_TOKEN" in answer.stderr


def test_a_bad_setting_is_named(sqlite_url: str) -> None:
    """A value pydantic refuses is reported with its variable name, not a traceback."""
    answer = _run("doctor", BARBERPRO_COMMISSION_RATE="lots", BARBERPRO_DATABASE_URL=sqlite_url)
    assert answer.returncode == 2
    assert "BARBERPRO_COMMISSION_RATE" in answer.stderr
