"""``make demo``: it serves, simulates, says where to look, and stops all it started."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.server import BARBERPRO, free_port, server_env

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_demo_runs_a_verified_launch_and_stops_everything() -> None:
    port = free_port()
    done = subprocess.run(
        [BARBERPRO, "demo", "--minutes", "0.1", "--port", str(port), "--no-keep-serving"],
        capture_output=True,
        text=True,
        timeout=180,
        env=server_env(),
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    token = re.search(r"admin token\s+(\S+)", out)
    assert token, out
    assert len(token[1]) >= 32
    for where in ("/docs", "/api/v1/analytics/dashboard", "/api/v1/monitoring/dashboard"):
        assert f"http://127.0.0.1:{port}{where}" in out
    assert re.search(r"all \d+ figures match", out), out
    assert "webhook_200" in out  # payments went through the stand-in
    scratch = re.search(r"logs and ground truth (\S+)", out)
    assert scratch, out
    assert not Path(scratch[1]).exists()
    assert not _listening(port)
    assert not _listening(port + 90)


def test_ctrl_c_stops_the_service_and_the_stand_in() -> None:
    port = free_port()
    process = subprocess.Popen(
        [BARBERPRO, "demo", "--minutes", "0.05", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=server_env(),
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        lines.append(line)
        if "Ctrl-C stops" in line or time.monotonic() > deadline:
            break
    assert any("Ctrl-C stops" in line for line in lines), "".join(lines)
    assert _listening(port)
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(lines) + rest
    assert "stopping the service and the stand-in" in rest
    assert not _listening(port)
    assert not _listening(port + 90)
