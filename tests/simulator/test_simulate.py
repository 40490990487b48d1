"""``barberpro simulate`` against a real server: every figure verified, on both databases."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import BARBERPRO, free_port, running_server, server_env

pytestmark = pytest.mark.slow

TOKEN = "sim-admin-token-0123456789abcdef0123"
SECRET = "sim-webhook-secret-0123456789"
MP_TOKEN = "TEST-1234567890123456-simulated-launch"


@contextmanager
def stand_in() -> Iterator[str]:
    """The MercadoPago stand-in as its own process (``barberpro mp-sandbox``)."""
    port = free_port()
    process = subprocess.Popen(
        [BARBERPRO, "mp-sandbox", "--port", str(port)],
        env=server_env(mp_access_token=MP_TOKEN, mp_webhook_secret=SECRET),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/_sandbox/state", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the MercadoPago stand-in did not start")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def service(database_url: str, mp_api_url: str | None = None) -> Iterator[str]:
    settings = {"database_url": database_url, "admin_token": TOKEN}
    if mp_api_url is not None:
        settings |= {
            "mp_api_url": mp_api_url,
            "mp_access_token": MP_TOKEN,
            "mp_webhook_secret": SECRET,
        }
    with running_server(server_env(**settings)) as server:
        yield server.url


def simulate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the simulator as its user would, in its own process."""
    return subprocess.run(
        [BARBERPRO, "simulate", "--url", url, "--token", TOKEN, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=server_env(),
        check=False,
    )


@pytest.mark.parametrize("payments", ["direct", "mercadopago"])
def test_every_figure_verifies_on_a_real_server(
    database_url: str, payments: str, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.json"
    with stand_in() as sandbox:
        through = sandbox if payments == "mercadopago" else None
        with service(database_url, through) as url:
            extra = ["--mp-sandbox", sandbox] if through else []
            done = simulate(
                url, "--duration", "8", "--rate", "40", "--seed", "21",
                "--truth", str(truth), "--verify", *extra,
            )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"all \d+ figures match", done.stdout), done.stdout
    document = json.loads(truth.read_text())
    figures = document["figures"]
    assert figures["revenue.gross_ars"] > 0
    assert figures["funnel.steps.5.units"] > 0
    assert len(document["sent"]) == len({json.dumps(s, sort_keys=True) for s in document["sent"]})
    if payments == "mercadopago":
        assert "MercadoPago {" in done.stdout
        assert "webhook_200" in done.stdout


def test_a_wrong_service_figure_fails_verify_naming_it(sqlite_url: str, tmp_path: Path) -> None:
    """One payment the simulator did not send: gross and its neighbours are named."""
    truth = tmp_path / "truth.json"
    with service(sqlite_url) as url:
        sent = simulate(url, "--duration", "4", "--rate", "30", "--truth", str(truth))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        document = json.loads(truth.read_text())
        start = datetime.fromisoformat(document["range"]["from"])
        extra = {
            "payment_id": "not-from-the-simulator",
            "status": "approved",
            "amount": "1234.56",
            "commission": "100.00",
            "payment_method": "visa",
            "payment_type": "credit_card",
            "timestamp": (start + timedelta(seconds=1)).isoformat(),
        }
        answer = httpx.post(
            f"{url}/api/v1/analytics/revenue",
            json=extra,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert answer.status_code == 202, answer.text
        checked = simulate(url, "--truth", str(truth), "--verify-only")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "figures differ" in checked.stdout
    named = checked.stdout.split("figures differ", 1)[1]
    for figure in ("revenue.gross_ars", "revenue.payments_approved", "revenue.commission_ars"):
        assert figure in named


def test_the_rate_holds_over_20_seconds(sqlite_url: str, tmp_path: Path) -> None:
    with service(sqlite_url) as url:
        done = simulate(url, "--duration", "20", "--rate", "50", "--sockets", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"sent (\d+) in ([\d.]+) s: ([\d.]+) events/s", done.stdout)
    assert found, done.stdout
    sends, achieved = int(found[1]), float(found[3])
    assert sends == 1000
    assert abs(achieved - 50) / 50 <= 0.10, done.stdout
    assert "Socket.IO {'connected': 4" in done.stdout


def _figures(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document["figures"].items() if ".hourly_art." not in k}


def _bodies(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**s["body"], "timestamp": None} for s in document["sent"]]


def test_the_same_seed_writes_the_same_figures_twice(tmp_path: Path) -> None:
    """Two fresh services, the same seed: the same events and figures, times aside."""
    documents = []
    for run in ("one", "two"):
        truth = tmp_path / f"{run}.json"
        with service(f"sqlite+aiosqlite:///{tmp_path / run}.db") as url:
            done = simulate(
                url, "--duration", "5", "--rate", "30", "--seed", "9",
                "--truth", str(truth), "--verify",
            )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        documents.append(json.loads(truth.read_text()))
    one, two = documents
    assert _bodies(one) == _bodies(two)
    assert _figures(one) == _figures(two)
