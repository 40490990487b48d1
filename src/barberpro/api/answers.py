"""What the answer models share, and their OpenAPI documentation for lean routes.

The answer models describe the JSON the routes send; the routes still render their answers
themselves (orjson, :class:`barberpro.api.responses.JSON`) and return them as responses, which
FastAPI passes through without validating or re-serialising. A model is declared on its route
(``response_model=``) for the OpenAPI document only, and ``tests/api/test_answers.py`` checks
every route's real answer against it, so the two cannot drift apart.

Why not let FastAPI validate: it would re-render each answer through the model (an integer in a
``float`` field comes out as ``300.0``, datetimes with six fractional digits, the keys in the
model's order), so the JSON would no longer be byte for byte what clients get, and a field
the model lacks would become a 500. The cost alone would be small: about 0.6 ms on a full
day's BI report (docs/BENCHMARKS.md, "Typed answers").
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Answer", "FieldProblem", "documented"]


class Answer(BaseModel):
    """Base of every answer model: no undeclared field, no type coercion when validated."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FieldProblem(Answer):
    """One bad field of a request, as every 4xx answer and batch item names it."""

    field: str = Field(description="Dotted path, e.g. events.3.timestamp.")
    reason: str
    type: str = Field(description="pydantic's error type, or ours (conflict, unknown_type...).")


def documented(answers: dict[int, tuple[type[BaseModel], str]]) -> dict[str, Any]:
    """Return ``openapi_extra`` documenting a lean route's JSON answers by status code.

    Lean routes (:mod:`barberpro.api.lean`) are documented by copies of their APIRoutes that
    keep ``openapi_extra`` only, so their answer schemas travel there, each one self-contained
    (its nested models written in place of references).
    """
    responses: dict[str, Any] = {}
    for status, (model, description) in answers.items():
        schema = _inline(model.model_json_schema(mode="serialization"))
        responses[str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    return {"responses": responses}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Return ``schema`` with every ``#/$defs/...`` reference replaced by its definition."""
    defs: dict[str, Any] = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk(defs[ref.removeprefix("#/$defs/")]) | walk(rest)
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    found: dict[str, Any] = walk(schema)
    return found
