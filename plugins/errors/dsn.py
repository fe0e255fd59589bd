"""DSNs and the SDKs' credentials: making keys, writing DSNs, finding the key in a request.

A DSN is `http://<public_key>@<host>:<port>/api/errors/<project_id>`: the stock SDKs take
everything before the last path segment as a prefix and post to
`<prefix>/api/<project_id>/envelope/`, which is this plugin's intake route. The key comes
back in `X-Sentry-Auth` (server SDKs), `Authorization: Sentry …`, or the `sentry_key`
query parameter (browser SDKs, which avoid a CORS preflight that way).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

PLUGIN_PREFIX = "/api/errors"


def new_public_key() -> str:
    """32 hex characters, as Sentry's own keys."""
    return secrets.token_hex(16)


def dsn(base_url: str, public_key: str, project_id: int) -> str:
    """The DSN of `project_id` for SDKs reaching this server at `base_url`."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = parts.scheme or "http"
    return f"{scheme}://{public_key}@{parts.netloc}{PLUGIN_PREFIX}/{project_id}"


def auth_fields(value: str) -> dict[str, str]:
    """`Sentry sentry_key=abc, sentry_version=7` as a dict (keys lower case)."""
    value = value.strip()
    if value[:7].lower() == "sentry ":
        value = value[7:]
    fields: dict[str, str] = {}
    for part in value.split(","):
        name, _, field_value = part.strip().partition("=")
        if name:
            fields[name.strip().lower()] = field_value.strip()
    return fields


def public_key_of(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The public key a request authenticates with, from wherever the SDK put it."""
    for header in ("x-sentry-auth", "authorization"):
        value = headers.get(header)
        if value and value.lstrip()[:7].lower() == "sentry ":
            key = auth_fields(value).get("sentry_key")
            if key:
                return key
    return query.get("sentry_key") or None
