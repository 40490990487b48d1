"""OpenAPI documentation for routes that read their JSON body themselves.

The ingestion routes parse bytes directly (for the 413/415 answers and speed), so FastAPI
cannot see their body models; :func:`json_body` documents them and :func:`install` adds the
models to the schema's components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

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
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
