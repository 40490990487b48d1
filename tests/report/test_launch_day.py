"""The launch report of a day of simulated traffic on real servers: JSON, HTML, and the CLI's
JSON and PDF, all telling the same figures as the service's other reports."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pypdf
import pytest
from typer.testing import CliRunner

from barberpro.argentina.timezone import art_day_bounds
from barberpro.cli import cli as main_cli
from barberpro.db.engine import create_engine
from barberpro.monitoring.ledger import Day, read_day
from barberpro.report import render
from tests.report.conftest import EMPTY_DAY, REPORT, LaunchDay
from tests.server import BARBERPRO, server_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SECTIONS = (
    "Operations",
    "Business intelligence",
    "Argentina market",
    "System health",
    "Day-7 recommendations",
)
#: The parts of a report that say when and how fast it was made, not what happened.
UNSTABLE = ("generated_at", "build_ms")


def cli(launch: LaunchDay, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``barberpro report`` on the launch day's database."""
    return subprocess.run(
        [BARBERPRO, "report", "--date", launch.day.isoformat(), *args],
        env=server_env(database_url=launch.database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def figures(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in UNSTABLE}


def pdf_text(path: Path) -> str:
    """The PDF's text, its whitespace runs made single spaces."""
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return " ".join(text.split())


def stored_day(launch: LaunchDay) -> Day:
    """The launch day's rows of ops_hours, as the report read them."""

    async def read() -> Day:
        engine = create_engine(launch.database_url)
        try:
            start, end = art_day_bounds(launch.day)
            return await read_day(engine, int(start.timestamp()), int(end.timestamp()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture(scope="module")
def html(launch: LaunchDay) -> str:
    answer = launch.get(REPORT, date=launch.day.isoformat(), format="html")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def test_the_report_counts_every_request_the_server_answered(launch: LaunchDay) -> None:
    """The simulator's requests route by route, the readiness probe, the dashboard and the
    report polls: all of them, once, from the first server's hours in ops_hours."""
    report = launch.report
    assert (report["date"], report["empty"], report["summary"]) == (
        launch.day.isoformat(),
        False,
        None,
    )
    http = report["operations"]["http"]
    assert http["requests"] == launch.answered
    assert sum(r["count"] for r in http["routes"]) == http["requests"]
    posts = Counter({r["route"]: r["count"] for r in http["routes"] if r["method"] == "POST"})
    assert posts == launch.planned
    assert sum(h["requests"] for h in report["operations"]["hourly"]) == http["requests"]
    assert report["operations"]["processes"] == report["health"]["processes"] == 1
    assert http["errors"] == 0
    assert report["health"]["status"] == "ok"


def test_each_route_is_judged_against_the_thresholds(launch: LaunchDay) -> None:
    """Every route's p95 is ok, warning or critical exactly as the thresholds say."""
    limits = launch.report["thresholds"]
    assert (limits["p95_warning_ms"], limits["p95_critical_ms"]) == (150.0, 200.0)
    http = launch.report["operations"]["http"]
    for route in [*http["routes"], http]:
        p95 = route["p95_ms"]
        assert p95 is not None
        expected = (
            "critical"
            if p95 > limits["p95_critical_ms"]
            else "warning"
            if p95 > limits["p95_warning_ms"]
            else "ok"
        )
        assert route["p95_status"] == expected, route
    assert {r["p95_status"] for r in http["routes"]} <= {"ok", "warning", "critical"}


def test_system_figures_are_the_samples_the_server_took(launch: LaunchDay) -> None:
    """One process: the day's highest memory share is its highest sample (each minute holds it
    once, however often it flushed), and PostgreSQL's pool shows its use."""
    day = stored_day(launch)
    system = launch.report["operations"]["system"]
    assert system["samples"] == len(day.samples) > 2
    assert system["memory_percent_max"] == round(max(s["memory_percent"] for s in day.samples), 3)
    assert system["rss_bytes_max"] == max(s["rss_bytes"] for s in day.samples)
    assert system["pool_use_max"] is not None
    assert 0 <= system["pool_use_max"] <= 1
    assert day.first_at is not None
    assert day.last_at is not None
    served = launch.report["operations"]["served_s"]
    assert served == pytest.approx(day.last_at - day.first_at, abs=0.001)


def test_business_figures_equal_the_business_intelligence_report(launch: LaunchDay) -> None:
    """Funnel units, gross and approved payments as GET /analytics/business-intelligence gives
    them for the same ART day, and as the simulator says it sent."""
    span = launch.report["range"]
    answer = launch.get(
        "/api/v1/analytics/business-intelligence", **{"from": span["from"], "to": span["to"]}
    )
    assert answer.status_code == 200, answer.text
    bi = answer.json()
    business = launch.report["business"]
    served = (
        business["funnel"]["units"],
        business["revenue"]["gross_ars"],
        business["revenue"]["payments_approved"],
    )
    assert served == (
        bi["funnel"]["units"],
        bi["revenue"]["gross_ars"],
        bi["revenue"]["payments_approved"],
    )
    assert served == (
        launch.truth["funnel.units"],
        launch.truth["revenue.gross_ars"],
        launch.truth["revenue.payments_approved"],
    )
    assert served[0] > 0
    assert served[1] > 0
    for section in ("funnel", "revenue", "engagement", "referrals"):
        assert business[section] == bi[section], section
    assert launch.report["market"]["provinces"] == bi["market"]["provinces"]


def test_recommendations_carry_their_evidence(launch: LaunchDay) -> None:
    """Each recommendation has an area, a kind, a sentence and the figures it rests on; the
    scaling one rests on the day's requests."""
    found = launch.report["recommendations"]
    assert found
    for item in found:
        assert set(item) >= {"area", "kind", "message", "evidence"}, item
        assert isinstance(item["message"], str)
        assert item["message"]
        assert isinstance(item["evidence"], dict)
        assert item["evidence"]
    (scaling,) = (i for i in found if i["kind"] in ("add_capacity", "capacity_holds"))
    assert scaling["area"] == "scaling"
    assert scaling["evidence"]["requests"] == launch.answered
    routes = launch.report["operations"]["http"]["routes"]
    over = [(r["route"], r["method"]) for r in routes if r["p95_status"] != "ok"]
    assert [(r["route"], r["method"]) for r in scaling["evidence"]["routes_over_threshold"]] == over
    assert {i["kind"] for i in found if i["area"] == "database_indexes"} <= {
        "slow_query",
        "queries_fast",
    }


def test_the_html_has_every_section_in_argentine_numbers(launch: LaunchDay, html: str) -> None:
    """The printable page: the five sections, the charts inline, figures as 1.234,56."""
    for title in SECTIONS:
        assert title in html
    report = launch.report
    gross = render.ars(report["business"]["revenue"]["gross_ars"])
    assert re.fullmatch(r"\$ \d{1,3}(\.\d{3})*,\d{2}", gross), gross
    assert f"Gross<b>{gross}</b>" in html
    assert f"Requests<b>{render.number(report['operations']['http']['requests'])}</b>" in html
    assert render.millis(report["operations"]["http"]["p95_ms"]) in html
    assert f"{render.number(report['operations']['db']['queries'])} queries, p95" in html
    assert "webhooks 99,0 %" in html
    assert html.count('src="data:image/svg+xml;base64,') >= 3  # traffic, funnel, revenue
    assert "<script" not in html


def test_the_cli_writes_a_pdf_with_the_date_and_sections(launch: LaunchDay, tmp_path: Path) -> None:
    out = tmp_path / "launch.pdf"
    done = cli(launch, "--format", "pdf", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert f"BarberPro launch report: {launch.day.isoformat()}" in text
    for title in SECTIONS:
        assert title in text
    assert render.ars(launch.report["business"]["revenue"]["gross_ars"]) in text


def test_the_cli_json_equals_the_http_json(launch: LaunchDay, tmp_path: Path) -> None:
    """The same rows give the same report, whether asked over HTTP or on the command line (in
    this process: the PDF's test runs the installed command)."""
    out = tmp_path / "launch.json"
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("BARBERPRO_")}
    done = CliRunner().invoke(
        main_cli,
        ["report", "--date", launch.day.isoformat(), "--format", "json", "--out", str(out)],
        env={**unset, "BARBERPRO_DATABASE_URL": launch.database_url},
    )
    assert done.exit_code == 0, done.output
    assert figures(json.loads(out.read_text())) == figures(launch.report)


def test_a_day_without_traffic_is_empty_on_the_same_database(launch: LaunchDay) -> None:
    answer = launch.get(REPORT, date=EMPTY_DAY.isoformat())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["empty"], report["recommendations"]) == (True, [])
    assert report["operations"]["http"]["requests"] == 0
