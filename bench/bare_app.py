"""The baseline of the single-event benchmark: FastAPI with the same body model, storing nothing.

It parses and validates the body with :class:`barberpro.analytics.schemas.Action` exactly as a
plain FastAPI route would (the model as the body parameter) and answers 202 with the same shape
as the real route, so the difference to the real app is what storing an event costs.
Served by ``uvicorn --factory --app-dir bench bare_app:create_app``.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from barberpro.analytics.schemas import Action


def create_app() -> FastAPI:
    """Return the bare app: ``POST /api/v1/analytics/action`` validates and answers 202."""
    app = FastAPI(title="bare ingest baseline")

    @app.post("/api/v1/analytics/action", status_code=202)
    async def action(body: Action) -> dict[str, object]:
        """Validate the body, store nothing, answer like the real route."""
        return {"event_id": str(body.event_id or uuid.uuid4()), "duplicate": False}

    return app
