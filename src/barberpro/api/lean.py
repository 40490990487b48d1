"""Lean routes: hot endpoints served as plain Starlette routes, documented as FastAPI's.

A FastAPI route pays, on every request, for its dependency solving (even with nothing to solve
but the request) and for the walk over the app's routes and included routers before it. For
the ingestion endpoints, which take the raw request and check their token themselves, that was
about a third of a request's CPU. :func:`serve` puts such an :class:`~fastapi.APIRouter`'s
routes at the front of the app as Starlette routes around the very same endpoint functions,
and keeps the ``APIRoute`` objects for the OpenAPI document only (see
:func:`barberpro.api.openapi.install`), so ``/docs`` shows them as before.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match, Route
from starlette.types import Scope


class LeanRoute(Route):
    """A Starlette route that names itself in ``scope["route"]``, as Starlette's router does.

    FastAPI's router does not set it for plain routes; the monitoring reads the route template
    from it.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match as a Starlette route, adding ``route`` to the child scope."""
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def serve(app: FastAPI, router: APIRouter, *, prefix: str = "", token: bool = False) -> None:
    """Serve ``router``'s routes (each endpoint taking just the request) ahead of all others.

    ``token``: the endpoints check the bearer token themselves; their documentation says so.
    """
    lean: list[Any] = []
    documented: list[APIRoute] = list(getattr(app.state, "documented_routes", []))
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"only APIRoutes can be served lean, not {route!r}")
        lean.append(
            LeanRoute(prefix + route.path, route.endpoint, methods=route.methods, name=route.name)
        )
        documented.append(_prefixed(route, prefix, token=token))
    app.router.routes[:0] = lean
    app.state.documented_routes = documented


def _prefixed(route: APIRoute, prefix: str, *, token: bool) -> APIRoute:
    extra = dict(route.openapi_extra or {})
    if token:
        extra["security"] = [{"bearer": []}]
    return APIRoute(
        prefix + route.path,
        route.endpoint,
        methods=route.methods,
        status_code=route.status_code,
        tags=route.tags,
        summary=route.summary,
        description=route.description,
        name=route.name,
        openapi_extra=extra or None,
    )
