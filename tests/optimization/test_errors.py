"""Unhandled errors grouped by route, exception type and in-app frames, with advice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from barberpro.optimization import decisions, errors
from barberpro.optimization.errors import ErrorGroups, suggestion
from tests.optimization.conftest import DASHBOARD, OPT, Slowed


def _raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises((AttributeError, TypeError)) as caught:
        call()
    return caught.value


def _bad_judge() -> Any:
    return decisions.judge(None, None, min_samples=1, required_gain=0.1)  # type: ignore[arg-type]


def _bad_ttl() -> Any:
    return decisions.adaptive_ttl("30", 1.0, lo=1, hi=2)  # type: ignore[arg-type]


def test_the_same_exception_from_the_same_frames_is_one_group() -> None:
    """Three AttributeErrors out of decisions.judge on one route: one group of 3, its frames
    those of the package only, the latest message, the bug advice. Another route, another
    exception type or other frames: other groups. Most frequent first."""
    clock = iter(range(100, 200))
    groups = ErrorGroups(clock=lambda: float(next(clock)))
    for _ in range(3):
        groups.record(DASHBOARD, _raised(_bad_judge))
    groups.record("/api/v1/analytics/business-intelligence", _raised(_bad_judge))
    groups.record(DASHBOARD, _raised(_bad_ttl))  # TypeError, from adaptive_ttl
    groups.record(DASHBOARD, TimeoutError("report took too long"))  # raised nowhere: no frames
    found = groups.answer()
    assert [(g["route"], g["exception"], g["count"]) for g in found] == [
        (DASHBOARD, "AttributeError", 3),
        (DASHBOARD, "TimeoutError", 1),
        (DASHBOARD, "TypeError", 1),
        ("/api/v1/analytics/business-intelligence", "AttributeError", 1),
    ]
    top = found[0]
    assert top["frames"] == ["optimization/decisions.py:judge"]
    assert (top["first_at"], top["last_at"]) == (
        "1970-01-01T00:01:40.000Z",
        "1970-01-01T00:01:42.000Z",
    )
    assert "NoneType" in top["latest_message"]
    assert top["suggested_action"].startswith("a bug in the frames shown")
    assert found[1]["frames"] == []
    assert "index suggestions" in found[1]["suggested_action"]
    assert found[2]["frames"] == ["optimization/decisions.py:adaptive_ttl"]


def test_every_exception_type_gets_advice() -> None:
    """Known types get their advice; any other the generic one."""
    assert "reconnects" in suggestion("OperationalError")
    assert "4xx" in suggestion("IntegrityError")
    assert "memory" in suggestion("MemoryError")
    assert suggestion("ZeroDivisionError") == "unexpected: read the frames and the latest message"


def test_groups_are_bounded_and_the_oldest_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_GROUPS the least recently seen group is dropped; messages are cut at 200."""
    monkeypatch.setattr(errors, "MAX_GROUPS", 3)
    clock = iter(range(100))
    groups = ErrorGroups(clock=lambda: float(next(clock)))
    for route in ("/a", "/b", "/c"):
        groups.record(route, ValueError("x" * 500))
    groups.record("/a", ValueError("again"))  # /a is now the most recent
    groups.record("/d", ValueError("new"))  # /b, the oldest, goes
    found = {g["route"]: g for g in groups.answer()}
    assert found.keys() == {"/a", "/c", "/d"}
    assert found["/a"]["count"] == 2
    assert len(found["/c"]["latest_message"]) == 200


async def test_route_failures_are_grouped_under_their_route_template(
    opt_app: Callable[..., Any], slowed: Slowed
) -> None:
    """Two 500s of the dashboard: GET /optimization/errors shows one group of 2 under the full
    route template, with the in-app frames (the analytics route) and advice."""
    async with opt_app() as client:
        slowed.failing.add("dashboard")
        app: Any = client.app  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=dict(client.headers)
        ) as lenient:
            for _ in range(2):
                assert (await lenient.get(DASHBOARD)).status_code == 500
        answer = await client.get(f"{OPT}/errors")
        assert answer.status_code == 200
        [group] = answer.json()["groups"]
        assert (group["route"], group["exception"], group["count"]) == (
            DASHBOARD,
            "RuntimeError",
            2,
        )
        assert "analytics/read_router.py:dashboard" in group["frames"]
        assert group["latest_message"] == "dashboard failed on purpose"
        assert group["suggested_action"]
