"""OpenAPI documentation for routes that read their JSON body themselves.

The ingestion routes parse bytes directly (for the 413/415 answers and speed), so FastAPI
cannot see their body models; :func:`json_body` documents them and :func:`install` adds the
models to the schema's components.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

_REF = "#/components/schemas/{model}"
_models: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """Return ``openapi_extra`` describing a required JSON body of ``model``."""
    _models[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}
            },
        }
    }


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` include the models registered by :func:`json_body`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # Routes served lean (barberpro.api.lean) are documented by their APIRoutes.
            routes = [*getattr(app.state, "documented_routes", []), *app.routes]
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in _models.items():
                found = model.model_json_schema(ref_template=_REF)
                components.update(found.pop("$defs", {}))
                components[name] = found
            _declare_bearer(schema, routes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "The admin token (BARBERPRO_ADMIN_TOKEN) for everything; the ingest token "
        "(BARBERPRO_INGEST_TOKEN) for the ingestion routes. Development without tokens is open."
    ),
}


#: The attribute a dependency (or the object of a bound method) sets to say it checks the
#: ``Authorization: Bearer`` token (TokenAuth, the metrics guard, the lean routes' endpoints).
GUARD_MARK = "checks_bearer_token"


def _guarded(route: Any) -> bool:
    """True when ``route`` or one of its dependencies checks the bearer token."""
    if getattr(route.endpoint, GUARD_MARK, False):
        return True
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        call = dependency.call
        if getattr(getattr(call, "__self__", call), GUARD_MARK, False):
            return True
        stack.extend(dependency.dependencies)
    return False


def _declare_bearer(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Declare the bearer scheme, and require it on every operation a token guards."""
    schema["components"].setdefault("securitySchemes", {})["bearer"] = _BEARER
    # Routes of included routers are reached through their contexts (prefix applied), as
    # FastAPI's own get_openapi walks them.
    for context in iter_route_contexts(routes):
        route: Any = context
        if not isinstance(context.original_route, APIRoute) or not route.include_in_schema:
            continue
        if not _guarded(route):
            continue
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                operation["security"] = [{"bearer": []}]
