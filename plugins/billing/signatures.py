"""Proving a webhook came from its provider, and recently: Stripe's and Vipps's schemes.

Stripe (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`): HMAC-SHA256 over
`<t>.<raw body>` with the endpoint secret; during a secret rotation Stripe sends one `v1`
per secret, and any match is enough. Checked here with `hmac`, as the `stripe` library's
`WebhookSignature.verify_header` checks it (the tests sign with that library too): the
library's call cost about as much CPU as the rest of our verification and parsing together,
on every webhook.

Vipps MobilePay (Webhooks API): `x-ms-content-sha256` is the base64 SHA-256 of the raw
body; `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&
Signature=<base64>` signs `POST\\n<path and query>\\n<x-ms-date>;<host>;<content hash>`
with the webhook's secret. Vipps signs no nonce, so a replay is refused by the age of the
signed `x-ms-date`, with the same tolerance as Stripe's timestamp, and by the event's id.

Every refusal is a `WebhookRefused` whose message names what was wrong, never a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

VIPPS_SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"


class WebhookRefused(ValueError):
    """A webhook that is not provably the provider's, or too old; answered with 400."""


def verify_stripe(
    body: bytes, header: str | None, secret: str, tolerance: int, now: float | None = None
) -> None:
    """Raise `WebhookRefused` unless `header` signs `body` with `secret` within `tolerance`
    seconds (either way: a timestamp from the future is as suspect as an old one)."""
    if not secret:
        raise WebhookRefused("no Stripe webhook secret is configured")
    if not header:
        raise WebhookRefused("Stripe-Signature refused: the header is missing")
    signed_at, signatures = _stripe_fields(header)
    if signed_at is None:
        raise WebhookRefused("Stripe-Signature refused: no timestamp (t=) in the header")
    if not signatures:
        raise WebhookRefused("Stripe-Signature refused: no v1 signature in the header")
    try:
        body.decode("utf-8")  # Stripe signs text; the library refuses other bytes likewise
    except UnicodeDecodeError:
        raise WebhookRefused("the body is not UTF-8") from None
    signed = hmac.new(secret.encode(), b"%d." % signed_at + body, hashlib.sha256)
    expected = signed.hexdigest()
    if not any(
        signature.isascii() and hmac.compare_digest(expected, signature) for signature in signatures
    ):
        raise WebhookRefused("Stripe-Signature refused: no v1 signature matches the body")
    if abs((time.time() if now is None else now) - signed_at) > tolerance:
        raise WebhookRefused("Stripe-Signature refused: the timestamp is outside the tolerance")


def _stripe_fields(header: str) -> tuple[int | None, list[str]]:
    """The header's first `t` (None when absent or not a number) and all its `v1` values."""
    fields = [item.partition("=") for item in header.split(",")]
    timestamps = [value.strip() for key, _, value in fields if key.strip() == "t"]
    signatures = [value.strip() for key, _, value in fields if key.strip() == "v1"]
    first = timestamps[0] if timestamps else ""
    readable = first.isascii() and first.isdigit() and len(first) <= 18  # int() limits digits
    return (int(first) if readable else None), signatures


def vipps_content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def vipps_signature(secret: str, path_and_query: str, date: str, host: str, body: bytes) -> str:
    """The `Signature` part of Vipps's Authorization header for this request."""
    signed = f"POST\n{path_and_query}\n{date};{host};{vipps_content_hash(body)}"
    digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_vipps(
    body: bytes,
    headers: Mapping[str, str],
    path_and_query: str,
    secret: str,
    tolerance: int,
    now: float | None = None,
) -> None:
    """Raise `WebhookRefused` unless the request carries Vipps's signature over this body,
    path, host and date, made with `secret`, dated within `tolerance` seconds."""
    if not secret:
        raise WebhookRefused("no Vipps webhook secret is configured")
    date, host = headers.get("x-ms-date"), headers.get("host")
    content_hash = headers.get("x-ms-content-sha256")
    authorization = headers.get("authorization", "")
    if not (date and host and content_hash and authorization):
        raise WebhookRefused(
            "a Vipps webhook needs x-ms-date, host, x-ms-content-sha256 and Authorization"
        )
    if not hmac.compare_digest(content_hash, vipps_content_hash(body)):
        raise WebhookRefused("x-ms-content-sha256 does not match the body")
    scheme, _, parameters = authorization.partition(" ")
    fields = dict(part.partition("=")[::2] for part in parameters.split("&"))
    if scheme != "HMAC-SHA256" or fields.get("SignedHeaders") != VIPPS_SIGNED_HEADERS:
        raise WebhookRefused(f"Authorization must be HMAC-SHA256 over {VIPPS_SIGNED_HEADERS}")
    expected = vipps_signature(secret, path_and_query, date, host, body)
    if not hmac.compare_digest(fields.get("Signature", ""), expected):
        raise WebhookRefused("the Vipps signature does not match")
    try:
        signed_at = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise WebhookRefused("x-ms-date is not an HTTP date") from None
    if abs((time.time() if now is None else now) - signed_at) > tolerance:
        raise WebhookRefused("x-ms-date is outside the tolerance: a replay or a stale retry")
