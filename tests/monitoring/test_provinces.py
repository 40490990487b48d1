"""Province counts of the monitoring: events without a province count in their session's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from barberpro.monitoring.service import Monitor
from barberpro.monitoring.windows import window


async def test_actions_and_funnel_steps_count_in_their_sessions_province(
    sqlite_app: Callable[..., Any],
) -> None:
    """A Córdoba session's action and funnel step count for AR-X, not unknown."""
    async with sqlite_app() as client:
        started = await client.post(
            "/api/v1/analytics/session/start",
            json={"session_id": "s-cba", "location": {"province": "Córdoba"}},
        )
        assert started.status_code == 201, started.text
        for path, body in (
            ("/api/v1/analytics/action", {"session_id": "s-cba", "action": "view"}),
            ("/api/v1/analytics/funnel", {"session_id": "s-cba", "step": 1}),
            ("/api/v1/analytics/action", {"session_id": "s-elsewhere", "action": "view"}),
        ):
            assert (await client.post(path, json=body)).status_code == 202
        monitor: Monitor = client.app.state.services.monitor
        ring = monitor.ring
        counts = window(
            [ring.slots()], now=monitor.clock(), window_s=60, kinds=frozenset({"province"})
        )
    by_province = {key[1]: stat.count for key, stat in counts.items()}
    assert by_province == {"AR-X": 3, "unknown": 1}
