"""Who may read the launch report, and the answer to a day or a format that is not one."""

from __future__ import annotations

import httpx
import pytest

from tests.report.conftest import ADMIN, INGEST, REPORT

pytestmark = pytest.mark.asyncio(loop_scope="module")  # report_app: one app for the module


async def test_without_a_token_it_is_401(report_app: httpx.AsyncClient) -> None:
    answer = await report_app.get(REPORT)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_the_ingest_token_is_403(report_app: httpx.AsyncClient) -> None:
    """The ingest token sends events; it does not read reports."""
    answer = await report_app.get(REPORT, headers={"Authorization": f"Bearer {INGEST}"})
    assert answer.status_code == 403
    assert answer.json() == {"error": "forbidden", "message": "this route needs the admin token"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": "2026-13-40"}, "query.date"),
        ({"date": "2026-12-04", "format": "xml"}, "query.format"),
        ({"format": "pdf"}, "query.format"),  # a PDF comes from the CLI
    ],
)
async def test_a_bad_date_or_format_is_422_naming_the_field(
    report_app: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    answer = await report_app.get(
        REPORT, params=params, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert [f["field"] for f in body["fields"]] == [field]
    assert field in body["message"]
