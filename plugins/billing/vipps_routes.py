"""HTTP for subscriptions paid through Vipps MobilePay recurring agreements, and for
cancelling a subscription: operator routes under `/api/billing/`, behind `billing.manage`
and the card-data refusal, like the rest of the operator API (`routes.py`); what they
share is in `route_helpers.py`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from mindframe.sdk import PluginContext

from .route_helpers import MANAGE, Strict, answer, card_number_refusal, public
from .service import BillingService


class VippsSubscribe(Strict):
    plan_id: Annotated[str, msgspec.Meta(max_length=64)]
    seats: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1
    phone: Annotated[str, msgspec.Meta(pattern=r"^\d{8,15}$")] | None = None


@post(
    "/customers/{customer_id:str}/vipps-agreements",
    status_code=201,
    guards=MANAGE,
    summary="Start a subscription paid by a Vipps MobilePay recurring agreement",
)
async def subscribe_vipps(
    customer_id: FromPath[str],
    data: JSONBody[VippsSubscribe],
    billing_service: NamedDependency[BillingService],
) -> dict[str, Any]:
    work = billing_service.subscribe_vipps(customer_id, data.plan_id, data.seats, data.phone)
    return await answer(billing_service, work)


@post(
    "/subscriptions/{subscription_id:str}/cancel",
    status_code=200,
    guards=MANAGE,
    summary="Cancel a subscription now (a Vipps agreement is stopped)",
)
async def cancel_subscription(
    subscription_id: FromPath[str], billing_service: NamedDependency[BillingService]
) -> dict[str, Any]:
    work = billing_service.cancel_subscription(subscription_id)
    return public(await answer(billing_service, work))


def build(ctx: PluginContext) -> list[Any]:
    handlers = [subscribe_vipps, cancel_subscription]
    return [Router(path="/", route_handlers=handlers, before_request=card_number_refusal(ctx))]
