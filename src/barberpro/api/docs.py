"""The API docs at ``/docs``, served offline.

Swagger UI's JavaScript and CSS come from the ``swagger-ui-bundle`` wheel and are served by the
app under ``/static/swagger-ui``: FastAPI's default page loads them from a CDN and is blank on a
machine without internet.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

SWAGGER_PREFIX = "/static/swagger-ui"


def install(app: FastAPI) -> None:
    """Serve ``/docs`` (create the app with ``docs_url=None, redoc_url=None``)."""
    import swagger_ui_bundle  # the wheel that ships Swagger UI's assets

    app.mount(
        SWAGGER_PREFIX,
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )

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
