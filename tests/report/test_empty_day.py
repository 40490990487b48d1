"""A day nothing happened: the report says so in one sentence, in JSON, HTML and PDF."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest

from barberpro.report import render
from tests.report.conftest import ADMIN, EMPTY_DAY, REPORT, serve, settings_for


@dataclass(frozen=True, slots=True)
class Empty:
    report: dict[str, Any]
    html: str
    pdf: str  # the PDF's text


async def _fetch(database_url: str) -> tuple[dict[str, Any], str]:
    async with serve(settings_for(database_url)) as client:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        params = {"date": EMPTY_DAY.isoformat()}
        report = await client.get(REPORT, params=params, headers=headers)
        page = await client.get(REPORT, params={**params, "format": "html"}, headers=headers)
    assert report.status_code == 200, report.text
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    return report.json(), page.text


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Empty:
    """The empty day's report from an app on a fresh SQLite database, and its PDF."""
    folder = tmp_path_factory.mktemp("empty")
    report, html = asyncio.run(_fetch(f"sqlite+aiosqlite:///{folder / 'e.db'}"))
    path: Path = folder / "empty.pdf"
    path.write_bytes(render.pdf(report))
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return Empty(report=report, html=html, pdf=" ".join(text.split()))


def test_the_json_says_the_day_is_empty(empty: Empty) -> None:
    report = empty.report
    assert report["date"] == "2025-06-15"
    assert report["empty"] is True
    assert report["summary"] == (
        "Nothing was recorded on 2025-06-15: no requests, no funnel, no payments, no alerts, "
        "no optimization actions."
    )
    assert report["recommendations"] == []
    ops = report["operations"]
    assert (ops["http"]["requests"], ops["http"]["routes"], ops["http"]["p95_status"]) == (
        0,
        [],
        "no_data",
    )
    assert ops["system"] == {"samples": 0}
    assert ops["processes"] == 0
    assert sum(h["requests"] for h in ops["hourly"]) == 0
    assert report["business"]["funnel"]["units"] == 0
    assert report["business"]["revenue"]["payments_approved"] == 0
    assert report["alerts"] == {"fired_by_severity": {}, "timeline": []}
    assert report["health"]["status"] == "ok"


@pytest.mark.parametrize("form", ["html", "pdf"])
def test_the_page_and_the_pdf_say_nothing_was_recorded(empty: Empty, form: str) -> None:
    text = empty.html if form == "html" else empty.pdf
    for said in (
        "Nothing was recorded on 2025-06-15",
        "No payments yet.",
        "No requests were served.",
        "No recommendation: the day has no data.",
        "Business intelligence",
        "Argentina market",
        "System health",
        "Day-7 recommendations",
    ):
        assert said in text, said
    assert "$ 0,00" in text  # gross, in pesos the Argentine way


def test_an_empty_page_draws_no_chart(empty: Empty) -> None:
    assert "data:image/svg+xml" not in empty.html
