"""The Stripe-Signature check on its own: what Stripe's own library signs is taken, and
everything its `verify_header` refuses is refused (and a timestamp from the future too)."""

import hashlib
import hmac
import time

import pytest
import stripe
from mindframe_plugins.billing.signatures import WebhookRefused, verify_stripe

SECRET, OLD_SECRET = "whsec_current", "whsec_previous"
BODY = b'{"id": "evt_1", "type": "payment_intent.succeeded", "note": "bl\xc3\xa5b\xc3\xa6r"}'
NOW = 1_800_000_000
NOT_TEXT = b"\xff{}"


def v1(body: bytes, secret: str, t: int = NOW) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verify(header: str | None, body: bytes = BODY, now: float = NOW) -> None:
    verify_stripe(body, header, SECRET, 300, now=now)


def test_a_header_made_by_the_stripe_library_is_taken_and_so_checked_by_it():
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, NOW)
    verify(header)
    stripe.WebhookSignature.verify_header(BODY, header, SECRET)  # no tolerance: any time


@pytest.mark.parametrize(
    "header",
    [
        f"t={NOW},v1={v1(BODY, OLD_SECRET)},v1={v1(BODY, SECRET)}",  # during a rotation
        f"t={NOW},v0=ignored,v1={v1(BODY, SECRET)}",
        f"v1={v1(BODY, SECRET)},t={NOW}",
    ],
)
def test_any_v1_signature_made_with_our_secret_is_enough(header):
    verify(header)


@pytest.mark.parametrize(
    ("header", "body", "now"),
    [
        (None, BODY, NOW),
        ("", BODY, NOW),
        (f"t={NOW},v1={v1(BODY, OLD_SECRET)}", BODY, NOW),  # only another secret's
        (f"t={NOW},v1={v1(BODY, SECRET)}", BODY.replace(b"evt_1", b"evt_2"), NOW),  # tampered
        (f"t={NOW + 1},v1={v1(BODY, SECRET)}", BODY, NOW),  # signed for another time
        (f"t={NOW},v0={v1(BODY, SECRET)}", BODY, NOW),  # not the v1 scheme
        (f"v1={v1(BODY, SECRET)}", BODY, NOW),  # no timestamp
        (f"t=abc,v1={v1(BODY, SECRET)}", BODY, NOW),
        (f"t={'9' * 5000},v1={v1(BODY, SECRET)}", BODY, NOW),  # beyond what int() parses
        (f"t={NOW},v1={v1(BODY, SECRET)}", BODY, NOW + 301),  # stale
        (f"t={NOW},v1={v1(NOT_TEXT, SECRET)}", NOT_TEXT, NOW),  # signed, but not text
    ],
)
def test_what_the_stripe_library_refuses_is_refused(header, body, now, monkeypatch):
    with pytest.raises(WebhookRefused):
        verify(header, body, now)
    monkeypatch.setattr(time, "time", lambda: now)  # the library's own check, same clock
    with pytest.raises((stripe.SignatureVerificationError, UnicodeDecodeError)):
        stripe.WebhookSignature.verify_header(body, header, SECRET, tolerance=300)


def test_a_signature_that_is_not_ascii_is_refused_where_the_library_raised_type_error():
    header = f"t={NOW},v1=é{v1(BODY, SECRET)[1:]}"
    with pytest.raises(WebhookRefused):
        verify(header)
    with pytest.raises(TypeError):  # hmac.compare_digest on a non-ASCII str: was a 500
        stripe.WebhookSignature.verify_header(BODY, header, SECRET)


def test_a_timestamp_from_the_future_beyond_the_tolerance_is_refused_and_within_it_taken():
    verify(f"t={NOW + 290},v1={v1(BODY, SECRET, NOW + 290)}")
    with pytest.raises(WebhookRefused, match="tolerance"):
        verify(f"t={NOW + 301},v1={v1(BODY, SECRET, NOW + 301)}")


def test_a_timestamp_within_the_tolerance_is_taken_and_one_past_it_refused():
    verify(f"t={NOW - 300},v1={v1(BODY, SECRET, NOW - 300)}")
    with pytest.raises(WebhookRefused, match="tolerance"):
        verify(f"t={NOW - 301},v1={v1(BODY, SECRET, NOW - 301)}")


def test_no_secret_configured_refuses_everything():
    with pytest.raises(WebhookRefused, match="no Stripe webhook secret"):
        verify_stripe(BODY, f"t={NOW},v1={v1(BODY, '')}", "", 300, now=NOW)
