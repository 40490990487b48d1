"""MercadoPago webhook signatures: a pinned vector, and Hypothesis over every manifest shape.

MercadoPago's documentation shows an ``x-signature`` header
(``ts=1704908010,v1=618c8534...``) but not the secret, data.id and request id behind it, so it
cannot serve as a vector. The pinned vector below uses the documented ts and a request id of the
documented shape; its digests were computed outside Python with
``printf '%s' 'id:...;request-id:...;ts:...;' | openssl dgst -sha256 -hmac <secret>``.
"""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from barberpro.payments.mercadopago import signature

SECRET = "your-webhook-secret-from-your-integrations"
REQUEST_ID = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e"
TS = "1704908010"
V1_NUMERIC = "af1a6aa44efb9fefd33d21f0ae9445fe8a3171b706a2ef7d0b2fd2a7408caddc"  # data.id 123456
V1_ALNUM = "b0c5a7a1e879617ff600e675e8a7bc59e9c4f30fa1ed89853a8acb598536667c"  # data.id a1b2c3


def _reference(secret: str, data_id: str | None, request_id: str | None, ts: str | None) -> str:
    """An independent implementation of MercadoPago's rule, written from its documentation."""
    text = ""
    if data_id:
        text += "id:" + data_id + ";"
    if request_id:
        text += "request-id:" + request_id + ";"
    if ts:
        text += "ts:" + ts + ";"
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def test_pinned_vector_signs_and_verifies() -> None:
    """The openssl-computed digest is what sign() gives and what verify() accepts."""
    assert signature.sign(SECRET, data_id="123456", request_id=REQUEST_ID, ts=TS) == V1_NUMERIC
    header = f"ts={TS},v1={V1_NUMERIC}"
    verdict = signature.verify(SECRET, header=header, data_id="123456", request_id=REQUEST_ID)
    assert verdict is signature.Verdict.VALID


def test_upper_case_data_id_is_tried_lower_cased() -> None:
    """An alphanumeric data.id sent upper-cased still matches a digest of the lower-cased id."""
    header = f"ts={TS},v1={V1_ALNUM}"
    for sent in ("a1b2c3", "A1B2C3"):
        verdict = signature.verify(SECRET, header=header, data_id=sent, request_id=REQUEST_ID)
        assert verdict is signature.Verdict.VALID


def test_pinned_vector_refuses_any_change() -> None:
    """Another secret, id, request id, ts or digest is a mismatch."""
    good = {"header": f"ts={TS},v1={V1_NUMERIC}", "data_id": "123456", "request_id": REQUEST_ID}
    changes = [
        {"data_id": "123457"},
        {"request_id": REQUEST_ID.replace("b", "c", 1)},
        {"header": f"ts=1704908011,v1={V1_NUMERIC}"},
        {"header": f"ts={TS},v1={V1_NUMERIC[:-1]}0"},
    ]
    for change in changes:
        verdict = signature.verify(SECRET, **{**good, **change})  # type: ignore[arg-type]
        assert verdict is signature.Verdict.MISMATCH, change
    assert signature.verify("other", **good) is signature.Verdict.MISMATCH  # type: ignore[arg-type]


def test_an_upper_case_digest_is_refused_as_the_sdk_refuses_it() -> None:
    """The v1 digest is compared as sent: the upper-cased hex of a good digest is a mismatch."""
    header = f"ts={TS},v1={V1_NUMERIC.upper()}"
    verdict = signature.verify(SECRET, header=header, data_id="123456", request_id=REQUEST_ID)
    assert verdict is signature.Verdict.MISMATCH


def test_missing_and_malformed_headers() -> None:
    """No header is MISSING; a header without v1 is MALFORMED."""
    assert signature.verify(SECRET, header=None, data_id="1", request_id="r").name == "MISSING"
    assert signature.verify(SECRET, header=" ", data_id="1", request_id="r").name == "MISSING"
    for header in ("ts=1", "garbage", "v1=", "ts=1;v1=ab"):
        verdict = signature.verify(SECRET, header=header, data_id="1", request_id="r")
        assert verdict is signature.Verdict.MALFORMED, header


def test_header_parsing_tolerates_spaces_and_order() -> None:
    """Spaces around parts and v1 before ts are read as MercadoPago means them."""
    parsed = signature.parse_header(" v1 = abc , ts = 123 ")
    assert parsed == signature.SignatureHeader(ts="123", v1="abc")


def test_replay_window_accepts_seconds_and_milliseconds() -> None:
    """With a tolerance, ts in seconds or milliseconds is checked against now; off by default."""
    for ts in (TS, TS + "000"):
        v1 = _reference(SECRET, "123456", REQUEST_ID, ts)
        header = f"ts={ts},v1={v1}"

        def check(now: float, tolerance: float | None, header: str = header) -> signature.Verdict:
            return signature.verify(
                SECRET,
                header=header,
                data_id="123456",
                request_id=REQUEST_ID,
                now=now,
                tolerance_s=tolerance,
            )

        assert check(1704908010 + 299, 300).ok
        assert check(1704908010 + 301, 300) is signature.Verdict.STALE
        assert check(1704908010 + 10**6, None).ok  # no window


ids = st.one_of(
    st.none(),
    st.integers(min_value=1, max_value=10**19).map(str),
    st.text(alphabet="abcdefABCDEF0123456789-_", min_size=1, max_size=40),
)
request_ids = st.one_of(st.none(), st.uuids().map(str), st.text(min_size=1, max_size=60))
stamps = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=4_000_000_000).map(str),
    st.integers(min_value=10**12, max_value=4 * 10**12).map(str),
)
secrets = st.text(min_size=1, max_size=64)


@given(secret=secrets, data_id=ids, request_id=request_ids, ts=stamps)
def test_any_manifest_shape_matches_the_reference(
    secret: str, data_id: str | None, request_id: str | None, ts: str | None
) -> None:
    """With or without each part, sign() equals the reference and verify() accepts it."""
    v1 = _reference(secret, data_id, request_id, ts)
    assert signature.sign(secret, data_id=data_id, request_id=request_id, ts=ts) == v1
    header = f"ts={ts},v1={v1}" if ts else f"v1={v1}"
    verdict = signature.verify(secret, header=header, data_id=data_id, request_id=request_id)
    assert verdict is signature.Verdict.VALID


@given(secret=secrets, data_id=ids, request_id=request_ids, ts=stamps, flip=st.integers(0, 63))
def test_any_changed_digest_is_refused(
    secret: str, data_id: str | None, request_id: str | None, ts: str | None, flip: int
) -> None:
    """Changing one hex digit of a correct digest always gives MISMATCH."""
    v1 = _reference(secret, data_id, request_id, ts)
    wrong = v1[:flip] + ("0" if v1[flip] != "0" else "1") + v1[flip + 1 :]
    header = f"ts={ts},v1={wrong}" if ts else f"v1={wrong}"
    verdict = signature.verify(secret, header=header, data_id=data_id, request_id=request_id)
    assert verdict is signature.Verdict.MISMATCH


@given(
    secret=secrets,
    data_id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=30),
    request_id=request_ids,
    ts=stamps,
)
def test_upper_cased_ids_verify_against_lower_case_digests(
    secret: str, data_id: str, request_id: str | None, ts: str | None
) -> None:
    """A digest of the lower-cased id verifies whatever case data.id arrives in."""
    v1 = _reference(secret, data_id, request_id, ts)
    header = f"ts={ts},v1={v1}" if ts else f"v1={v1}"
    for sent in (data_id, data_id.upper()):
        assert signature.verify(secret, header=header, data_id=sent, request_id=request_id).ok


@given(
    ts=st.integers(min_value=1_000_000_000, max_value=4_000_000_000),
    skew=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    tolerance=st.floats(min_value=1, max_value=1e5, allow_nan=False),
    millis=st.booleans(),
)
def test_replay_window_is_exactly_the_tolerance(
    ts: int, skew: float, tolerance: float, millis: bool
) -> None:
    """A correct signature is stale exactly when |now - ts| exceeds the tolerance."""
    sent = str(ts * 1000) if millis else str(ts)
    v1 = _reference(SECRET, "42", "req", sent)
    now = ts + skew
    verdict = signature.verify(
        SECRET,
        header=f"ts={sent},v1={v1}",
        data_id="42",
        request_id="req",
        now=now,
        tolerance_s=tolerance,
    )
    stale = abs(now - ts) > tolerance  # the skew as floats see it
    assert verdict is (signature.Verdict.STALE if stale else signature.Verdict.VALID)
