"""Structured logging with structlog: key-value lines for people, JSON lines for machines."""

from __future__ import annotations

import logging

import structlog


def configure(*, level: str = "info", json: bool = False) -> None:
    """Route structlog and the standard library through one renderer at ``level``."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
