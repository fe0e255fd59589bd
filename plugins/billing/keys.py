"""Idempotency keys for calls to the providers."""

from __future__ import annotations

import hashlib


def operation_key(*parts: str) -> str:
    """A provider idempotency key for one operation: stable for the same parts, at most 40
    characters of letters and digits (within Stripe's and Vipps's limits)."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:40]
