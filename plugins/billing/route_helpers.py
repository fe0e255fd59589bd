"""What every operator route of the plugin shares (`routes.py`, `vipps_routes.py`): strict
request bodies, the `billing.manage` guard, refusals turned into localized problem
details, rows made JSON-ready, and the refusal of anything that looks like a card number."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, HTTPException

from mindframe.sdk import PluginContext
from mindframe.sdk.auth import requires_permission
from mindframe.sdk.i18n import N_

from . import card_data
from .errors import BillingError
from .service import BillingService
from .stripe_gateway import ProviderError

CARD_REFUSED = N_(
    "card numbers are never accepted here: customers pay on Stripe's checkout page or in "
    "the Vipps MobilePay app"
)
PROVIDER_FAILED = N_("the payment provider did not accept the request: {reason}")

MANAGE = [requires_permission("billing.manage")]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Request bodies name every field they take: anything else (a card number) is a 400."""


async def answer(service: BillingService, work: Awaitable[Any]) -> Any:
    """Await a `BillingService` call for a route: a refusal (`BillingError`) or a provider's
    error becomes an HTTP problem with its status and a detail in the request's locale."""
    try:
        return await work
    except BillingError as error:
        raise HTTPException(status_code=error.status, detail=service.explain(error)) from None
    except ProviderError as error:
        detail = service._ctx.gettext(PROVIDER_FAILED).format(reason=str(error))
        raise HTTPException(status_code=error.status, detail=detail) from None


def public(value: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON: datetimes and dates in ISO 8601."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in value.items()}


def card_number_refusal(ctx: PluginContext) -> Callable[[Request], Awaitable[None]]:
    """A `before_request` hook refusing (400) a body or query that holds a card number."""

    async def refuse_card_numbers(request: Request) -> None:
        body = (await request.body()).decode(errors="replace")
        query = request.scope.get("query_string", b"").decode(errors="replace")
        if card_data.holds_card_number(body) or card_data.holds_card_number(query):
            raise ClientException(ctx.gettext(CARD_REFUSED))

    return refuse_card_numbers
