"""GET /monitoring/health: ok, degraded, critical with each check; 503 when critical."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HEALTH = "/api/v1/monitoring/health"


async def test_health_with_the_admin_token_lists_every_check(
    sqlite_app: Callable[..., Any],
) -> None:
    """The admin sees database, memory, disk and backlog with their values, uptime, version."""
    async with sqlite_app(admin_token="adm") as client:
        answer = await client.get(HEALTH, headers={"Authorization": "Bearer adm"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "memory", "disk", "queue_backlog"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["queue_backlog"]["backlog"] == 0
    assert body["uptime_s"] >= 0
    assert body["version"]


async def test_health_without_a_token_says_only_the_status(
    sqlite_app: Callable[..., Any],
) -> None:
    """Anyone may ask; without the admin token the answer is just the status."""
    async with sqlite_app(admin_token="adm") as client:
        answer = await client.get(HEALTH)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_memory_over_the_critical_threshold_answers_503(
    sqlite_app: Callable[..., Any],
) -> None:
    """With a tiny memory threshold the service is critical and answers 503."""
    async with sqlite_app(
        health_memory_degraded_percent=0.0001, health_memory_critical_percent=0.0002
    ) as client:
        answer = await client.get(HEALTH)
    assert answer.status_code == 503
    assert answer.json()["status"] == "critical"
    assert answer.json()["checks"]["memory"]["status"] == "critical"


async def test_memory_over_the_first_threshold_is_degraded(
    sqlite_app: Callable[..., Any],
) -> None:
    """Between the two thresholds the service is degraded and still answers 200."""
    async with sqlite_app(
        health_memory_degraded_percent=0.0001, health_memory_critical_percent=100
    ) as client:
        answer = await client.get(HEALTH)
    assert answer.status_code == 200
    assert answer.json()["status"] == "degraded"


async def test_unreachable_redis_is_degraded(sqlite_app: Callable[..., Any]) -> None:
    """A configured Redis that does not answer degrades the service; it keeps answering."""
    async with sqlite_app(redis_url="redis://127.0.0.1:1/0") as client:
        answer = await client.get(HEALTH)
    assert answer.status_code == 200
    assert answer.json()["checks"]["redis"]["status"] == "degraded"
