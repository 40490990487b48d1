"""MercadoPago webhook signatures: the ``x-signature`` header, its manifest, HMAC-SHA256.

MercadoPago signs ``id:{data.id};request-id:{x-request-id};ts:{ts};`` with the webhook secret
and sends ``x-signature: ts=<ts>,v1=<hex digest>``. A part whose value is absent is left out
of the manifest. ``data.id`` comes from the query string; its documentation and SDKs disagree
on case, so :func:`verify` tries the id as sent and then lower-cased.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

# A ``ts`` above this is in milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
_MILLIS_ABOVE = 100_000_000_000


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    """The parts of an ``x-signature`` header."""

    ts: str | None
    v1: str


class Verdict(StrEnum):
    """The outcome of checking a signature."""

    VALID = "valid"
    MISSING = "missing"  # no x-signature header
    MALFORMED = "malformed"  # the header has no v1 part
    MISMATCH = "mismatch"  # no candidate manifest gives the sent digest
    STALE = "stale"  # the digest matches but ts is outside the replay window

    @property
    def ok(self) -> bool:
        """True only for a valid signature."""
        return self is Verdict.VALID


def parse_header(header: str | None) -> SignatureHeader | None:
    """Return ``ts`` and ``v1`` of an ``x-signature`` header, None without a ``v1`` part."""
    if not header:
        return None
    values: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.partition("=")
        if sep:
            values.setdefault(key.strip().lower(), value.strip())
    v1 = values.get("v1")
    if not v1:
        return None
    return SignatureHeader(ts=values.get("ts") or None, v1=v1)


def manifest(*, data_id: str | None, request_id: str | None, ts: str | None) -> str:
    """Return the signed text; each part is left out when its value is absent or empty."""
    parts = []
    if data_id:
        parts.append(f"id:{data_id};")
    if request_id:
        parts.append(f"request-id:{request_id};")
    if ts:
        parts.append(f"ts:{ts};")
    return "".join(parts)


def sign(secret: str, *, data_id: str | None, request_id: str | None, ts: str | None) -> str:
    """Return the hex HMAC-SHA256 of the manifest, as MercadoPago puts it in ``v1``."""
    text = manifest(data_id=data_id, request_id=request_id, ts=ts)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def header_value(secret: str, *, data_id: str | None, request_id: str | None, ts: str) -> str:
    """Return a complete ``x-signature`` header value (what the stand-in sends)."""
    return f"ts={ts},v1={sign(secret, data_id=data_id, request_id=request_id, ts=ts)}"


def ts_seconds(ts: str) -> float | None:
    """Return ``ts`` as seconds since the epoch (it may be seconds or milliseconds)."""
    try:
        value = float(ts)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value / 1000 if abs(value) >= _MILLIS_ABOVE else value


def verify(
    secret: str,
    *,
    header: str | None,
    data_id: str | None,
    request_id: str | None,
    now: float | None = None,
    tolerance_s: float | None = None,
) -> Verdict:
    """Check an ``x-signature`` header against the secret, in constant time per candidate.

    With ``tolerance_s`` (and ``now``, wall-clock seconds) a correct signature whose ``ts`` is
    further than ``tolerance_s`` from ``now`` — or missing — is refused as STALE (replays).
    """
    parsed = parse_header(header)
    if header is None or not header.strip():
        return Verdict.MISSING
    if parsed is None:
        return Verdict.MALFORMED
    # Compared as sent, as MercadoPago's own SDK validator does: its digests are lower-case
    # hex, and an upper-cased one is not what it signed.
    sent = parsed.v1.strip().encode()
    candidates = [data_id]
    if data_id is not None and data_id.lower() != data_id:
        candidates.append(data_id.lower())
    matched = False
    for candidate in candidates:
        expected = sign(secret, data_id=candidate, request_id=request_id, ts=parsed.ts).encode()
        # Evaluate every candidate: the time taken does not say which one matched.
        matched = hmac.compare_digest(expected, sent) or matched
    if not matched:
        return Verdict.MISMATCH
    if tolerance_s is not None:
        moment = ts_seconds(parsed.ts) if parsed.ts else None
        if moment is None or now is None or abs(now - moment) > tolerance_s:
            return Verdict.STALE
    return Verdict.VALID
