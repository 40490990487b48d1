"""Schemathesis over the whole /openapi.json against a real server: no answer is a 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import running_server, server_env

# Slow, and run on one pytest-xdist worker one after the other: two schemathesis runs at once,
# each with its own threads, over-commit the two cores.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]

ADMIN = "fuzz-admin-token-0123456789abcdef"
ST = str(Path(sys.executable).with_name("st"))
#: Generated requests per operation; over the 20-odd operations that is at least 3,000.
EXAMPLES = 120
SEED = 20261203


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_generated_requests_never_get_a_server_error(
    database: str, sqlite_url: str, request: pytest.FixtureRequest
) -> None:
    """Seeded schemathesis: at least 3,000 requests, the admin token, not_a_server_error."""
    url = sqlite_url if database == "sqlite" else str(request.getfixturevalue("postgres_url"))
    env = server_env(
        database_url=url,
        admin_token=ADMIN,
        ingest_token="fuzz-ingest-token-0123456789abcdef",
        mp_worker_enabled="false",
        alert_enabled="false",
        log_level="error",
    )
    with running_server(env) as server:
        run = subprocess.run(
            [
                ST,
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {ADMIN}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "2",
                "--generation-database",
                "none",
                # Forcing emergency mode on sheds the reports with 503 by design: fuzzed, it
                # would turn the rest of the run's report requests into those. Its own tests
                # cover it (tests/optimization).
                "--exclude-path",
                "/api/v1/optimization/emergency",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        log = server.output()
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert run.returncode == 0, run.stdout[-6000:] + log[-4000:]
    assert summary is not None, run.stdout[-3000:]
    generated, passed = map(int, summary.groups())
    assert generated >= 3000
    assert passed == generated
