"""The ingestion routes are served lean, documented as before, and behave as routes should."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse

from barberpro.api import lean, openapi
from barberpro.api.lean import LeanRoute

INGESTION = {
    "/api/v1/analytics/session/start": ("SessionStart", "201"),
    "/api/v1/analytics/action": ("Action", "202"),
    "/api/v1/analytics/funnel": ("Funnel", "202"),
    "/api/v1/analytics/provider/metrics": ("ProviderMetrics", "202"),
    "/api/v1/analytics/revenue": ("Revenue", "202"),
    "/api/v1/analytics/argentina/activity": ("Activity", "202"),
    "/api/v1/analytics/batch": ("Batch", "207"),
}


async def test_the_openapi_document_still_describes_every_ingestion_route(
    client: httpx.AsyncClient,
) -> None:
    """/openapi.json: each path, POST only, its body model, its status, the ingestion tag."""
    schema = (await client.get("/openapi.json")).json()
    for path, (model, status) in INGESTION.items():
        assert set(schema["paths"][path]) == {"post"}, path
        post = schema["paths"][path]["post"]
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model}"}
        assert model in schema["components"]["schemas"]
        assert status in post["responses"]
        assert post["tags"] == ["ingestion"]
    served = [r for r in client.app.routes[: len(INGESTION)]]  # type: ignore[attr-defined]
    assert {r.path for r in served} == set(INGESTION)
    assert all(isinstance(r, LeanRoute) for r in served)


async def test_another_method_on_an_ingestion_path_is_405(client: httpx.AsyncClient) -> None:
    """GET on a POST-only ingestion path: 405 naming POST, in our error shape."""
    answer = await client.get("/api/v1/analytics/action")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert set(answer.json()) >= {"error", "message"}


async def test_serve_puts_the_routes_first_and_keeps_their_documentation() -> None:
    """A lean route answers ahead of the app's other routes, names itself, and is documented."""
    app = FastAPI()
    openapi.install(app)

    @app.post("/api/v1/{anything}")
    async def catch_all(anything: str) -> dict[str, str]:
        return {"by": "fastapi"}

    router = APIRouter(prefix="/echo", tags=["t"])

    @router.post("", summary="Echo", status_code=202)
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"by": "lean", "route": request.scope["route"].path}, 202)

    lean.serve(app, router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        answer = await c.post("/api/v1/echo")
    assert answer.status_code == 202
    assert answer.json() == {"by": "lean", "route": "/api/v1/echo"}
    assert app.routes[0].path == "/api/v1/echo"  # type: ignore[attr-defined]
    post = app.openapi()["paths"]["/api/v1/echo"]["post"]
    assert post["summary"] == "Echo"
    assert post["tags"] == ["t"]
