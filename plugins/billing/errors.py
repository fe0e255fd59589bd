"""Refusals of the billing service, each with the HTTP status it is answered with. The
message is a catalog entry with named placeholders, translated where the request's locale
is known (`BillingService.explain`)."""

from __future__ import annotations

from typing import Any


class BillingError(ValueError):
    """Bad input (400)."""

    status = 400

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params


class NotFound(BillingError):
    status = 404


class Conflict(BillingError):
    """Asked for what the payment's or invoice's state does not allow (409)."""

    status = 409
