"""The simulator benchmark's baseline: a server that answers every event at once, storing nothing.

Any POST is read and answered 202 (201 for a session start) with the service's answer shape,
so the simulator's own ceiling is measured against a server that costs next to nothing.
Served by ``uvicorn --factory --app-dir bench sink_app:create_app``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _event(request: Request) -> JSONResponse:
    await request.body()
    if request.url.path.endswith("/session/start"):
        return JSONResponse(
            {"session_id": "s", "province": None, "referral_channel": "direct", "duplicate": False},
            status_code=201,
        )
    return JSONResponse({"event_id": "e", "duplicate": False}, status_code=202)


async def _ok(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    """Return the sink: every analytics POST answered at once; GET /openapi.json for readiness."""
    return Starlette(
        routes=[
            Route("/api/v1/analytics/{rest:path}", _event, methods=["POST"]),
            Route("/openapi.json", _ok, methods=["GET"]),
        ]
    )
