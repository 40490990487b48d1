"""The request a piece of work belongs to, carried by a context variable.

The middleware sets a fresh :class:`RequestCost` for each request; the query timer adds each
statement's time to it, so the database time of a request is attributed to its route. Work done
outside a request (the group-commit writer's task, background loops) sees None.
"""

from __future__ import annotations

from contextvars import ContextVar


class RequestCost:
    """Database time and statements spent on behalf of one request."""

    __slots__ = ("db_ms", "db_queries")

    def __init__(self) -> None:
        self.db_ms = 0.0
        self.db_queries = 0


current_request: ContextVar[RequestCost | None] = ContextVar(
    "barberpro_current_request", default=None
)
