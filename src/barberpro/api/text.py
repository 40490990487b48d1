"""Text every database stores as sent: no NUL characters, no lone UTF-16 surrogates.

PostgreSQL refuses both in a text column (SQLite keeps them, so a figure would differ between
the two), so request bodies refuse them with a 422 naming the field instead of a 500.
"""

from __future__ import annotations


def storable(value: str) -> str:
    """Return ``value`` unchanged, or raise ValueError saying why it cannot be stored."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (a lone surrogate such as \\ud800)") from None
    return value
