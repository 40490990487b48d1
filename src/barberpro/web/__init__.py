"""The live dashboard page at ``/dashboard``: static HTML, CSS and JavaScript served by the app.

The page holds no figure and no secret: it asks for the admin token, keeps it in the tab's
sessionStorage, reads every figure through the authenticated API and listens to the Socket.IO
rooms ``dashboard`` and ``alerts``. Its libraries (Chart.js, the Socket.IO client) come from the
npm registry at ``make install`` into ``static/vendor``. A Content-Security-Policy allows
scripts, styles and connections from the app's own origin only: no inline script runs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

STATIC = Path(__file__).parent / "static"
#: The page itself lives outside the static folder: it is served only at /dashboard, with its
#: headers.
PAGE = Path(__file__).parent / "dashboard.html"
PREFIX = "/static/dashboard"

#: Everything from this origin only; no inline script or style, no framing, no plugins.
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def install(app: FastAPI) -> None:
    """Serve ``/dashboard`` and its assets; ``/`` leads to it."""
    app.mount(PREFIX, StaticFiles(directory=STATIC), name="dashboard-assets")

    @app.get("/dashboard", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(PAGE, headers=HEADERS)

    @app.post("/dashboard", include_in_schema=False)
    async def submitted() -> Response:
        # The sign-in form is handled by the page's script; a browser that submits it anyway
        # (the script did not load) sends no token (the field has no name): back to the page.
        return RedirectResponse("/dashboard", status_code=303)

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return RedirectResponse("/dashboard", status_code=307)
