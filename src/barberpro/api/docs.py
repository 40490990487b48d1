"""The pages a person opens first: ``/`` and the API docs at ``/docs``, served offline.

Swagger UI's JavaScript and CSS come from the ``swagger-ui-bundle`` wheel and are served by the
app under ``/static/swagger-ui``: FastAPI's default page loads them from a CDN and is blank on a
machine without internet.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

SWAGGER_PREFIX = "/static/swagger-ui"

_HOME = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BarberPro backend</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
a{color:#0b5fff}li{margin:.4rem 0}code{background:#f3f3f3;padding:0 .25rem}
</style>
</head>
<body>
<h1>BarberPro backend {version}</h1>
<p>Launch-day monitoring, alerts, MercadoPago payments and real-user analytics.</p>
<ul>
<li><a href="/docs">API docs</a>: every route, its body and its answer; <b>Authorize</b> takes
the admin or ingest token.</li>
<li><a href="/api/v1/monitoring/health">Health</a> (the admin token shows every check)</li>
<li><a href="/metrics">Prometheus metrics</a> (admin or metrics token)</li>
<li><a href="/api/v1/monitoring/dashboard">Monitoring dashboard</a> and
<a href="/api/v1/analytics/dashboard">analytics dashboard</a> (JSON, admin token)</li>
</ul>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve ``/`` and ``/docs`` (create the app with ``docs_url=None, redoc_url=None``)."""
    import swagger_ui_bundle  # the wheel that ships Swagger UI's assets

    app.mount(
        SWAGGER_PREFIX,
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )
    home = _HOME.replace("{version}", app.version)

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return HTMLResponse(home)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API docs",
            swagger_js_url=f"{SWAGGER_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_PREFIX}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return RedirectResponse("/docs")
