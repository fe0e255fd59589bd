"""HTTP under `/api/billing/`: the API for operators (the two webhook endpoints, public and
trusting only their signatures, are lean endpoints: `webhook_endpoints.py`). It needs
`billing.manage` (refunds: `billing.refund`), checked by the SDK's guards, and sits behind
the card-data refusal (`card_data.py`). Errors are problem details in the request's locale.
"""

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter

from mindframe.sdk import PluginContext
from mindframe.sdk.auth import requires_permission

from . import rendering
from .invoices import Line
from .notices import Notices
from .reconcile import reconcile
from .route_helpers import MANAGE, Strict, answer, card_number_refusal, public
from .service import BillingService

REFUND = [requires_permission("billing.refund")]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]


class NewProduct(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


MinorUnits = Annotated[int, msgspec.Meta(gt=0, le=10**11)]
"""An amount in øre or cents: positive, at most a billion in the major unit."""


class NewPlan(Strict):
    product_id: Annotated[str, msgspec.Meta(max_length=64)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    unit_amount: MinorUnits
    currency: Literal["NOK", "SEK", "DKK", "EUR", "USD", "GBP"]
    pricing: Literal["flat", "per_seat"] = "flat"
    interval: Literal["month", "year"] = "month"
    trial_days: Annotated[int, msgspec.Meta(ge=0, le=730)] = 0


class NewCustomer(Strict):
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=2)]
    currency: Literal["NOK", "SEK", "DKK", "EUR", "USD", "GBP"]
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    locale: Literal["nb", "sv", "da", "fi", "de", "en_US", "en_GB"] = "en_US"
    vat_number: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    is_business: bool = False
    user_id: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Subscribe(Strict):
    plan_id: Annotated[str, msgspec.Meta(max_length=64)]
    seats: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1


class Charge(Strict):
    amount: MinorUnits
    currency: Literal["NOK", "SEK", "DKK", "EUR", "USD", "GBP"]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "Payment"
    phone: Annotated[str, msgspec.Meta(pattern=r"^\d{8,15}$")] | None = None
    invoice_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Amount(Strict):
    amount: MinorUnits | None = None


class InvoiceLine(Strict):
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    unit_amount: Annotated[int, msgspec.Meta(ge=0, le=10**11)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10**6)] = 1


class DraftInvoice(Strict):
    lines: Annotated[list[InvoiceLine], msgspec.Meta(min_length=1, max_length=500)]


# --- the kinds of operator route ------------------------------------------------------------
#
# Most operator routes hand their path id and body to one `BillingService` call and answer
# its row. Each kind below is written once: a route is the decorator (path, guards, summary)
# on a one-line function saying which call it makes; the handler is named after that function
# (the name is in the OpenAPI operation id).

Call = Callable[..., Awaitable[dict[str, Any]]]


def _as_route(route: HTTPRouteHandler, call: Call, handler: Callable[..., Any]) -> HTTPRouteHandler:
    handler.__name__ = handler.__qualname__ = call.__name__
    return route(handler)


def _body_of(call: Call) -> Any:
    """The request body a call takes: the type of its `data`."""
    return inspect.signature(call).parameters["data"].annotation


def _path_id(route: HTTPRouteHandler) -> Any:
    """The argument type taking the route's one path parameter under its own name
    (`customer_id`, `payment_id`, `invoice_id`), so one handler serves all of them."""
    (name,) = {name for path in route.paths for name in re.findall(r"{(\w+):", path)}
    return Annotated[str, PathParameter(name=name)]


def created_route(route: HTTPRouteHandler) -> Callable[[Call], HTTPRouteHandler]:
    """A route making a row from its body: `create(service, data)`."""

    def kind(create: Call) -> HTTPRouteHandler:
        async def handler(
            data: JSONBody[_body_of(create)], billing_service: NamedDependency[BillingService]
        ) -> dict[str, Any]:
            return public(await answer(billing_service, create(billing_service, data)))

        return _as_route(route, create, handler)

    return kind


def row_route(route: HTTPRouteHandler) -> Callable[[Call], HTTPRouteHandler]:
    """A route answering the row its path id names, or acting on it: `fetch(service, id)`."""

    def kind(fetch: Call) -> HTTPRouteHandler:
        async def handler(
            record_id: _path_id(route), billing_service: NamedDependency[BillingService]
        ) -> dict[str, Any]:
            return public(await answer(billing_service, fetch(billing_service, record_id)))

        return _as_route(route, fetch, handler)

    return kind


def customer_route(route: HTTPRouteHandler) -> Callable[[Call], HTTPRouteHandler]:
    """A route starting something for the customer in its path, from its body:
    `start(service, customer_id, data)`."""

    def kind(start: Call) -> HTTPRouteHandler:
        async def handler(
            customer_id: FromPath[str],
            data: JSONBody[_body_of(start)],
            billing_service: NamedDependency[BillingService],
        ) -> dict[str, Any]:
            work = start(billing_service, customer_id, data)
            return public(await answer(billing_service, work))

        return _as_route(route, start, handler)

    return kind


def money_route(route: HTTPRouteHandler) -> Callable[[Call], HTTPRouteHandler]:
    """A route moving money on the payment in its path: `move(service, payment_id, amount,
    key)`, the key the client's Idempotency-Key (a new one without), so a retry moves it once."""

    def kind(move: Call) -> HTTPRouteHandler:
        async def handler(
            payment_id: FromPath[str],
            data: JSONBody[Amount],
            billing_service: NamedDependency[BillingService],
            idempotency_key: IdempotencyKey = None,
        ) -> dict[str, Any]:
            key = idempotency_key or uuid.uuid4().hex
            work = move(billing_service, payment_id, data.amount, key)
            return public(await answer(billing_service, work))

        return _as_route(route, move, handler)

    return kind


# --- operator API --------------------------------------------------------------------------


@created_route(post("/products", status_code=201, guards=MANAGE, summary="Add a product"))
def create_product(service: BillingService, data: NewProduct) -> Awaitable[dict[str, Any]]:
    return service.create_product(data.name)


@created_route(
    post("/plans", status_code=201, guards=MANAGE, summary="Add a plan (flat or per seat)")
)
def create_plan(service: BillingService, data: NewPlan) -> Awaitable[dict[str, Any]]:
    return service.create_plan(**msgspec.structs.asdict(data))


@created_route(post("/customers", status_code=201, guards=MANAGE, summary="Add a customer"))
def create_customer(service: BillingService, data: NewCustomer) -> Awaitable[dict[str, Any]]:
    return service.create_customer(**msgspec.structs.asdict(data))


@row_route(
    get("/customers/{customer_id:str}", guards=MANAGE, summary="A customer and their balances")
)
def show_customer(service: BillingService, customer_id: str) -> Awaitable[dict[str, Any]]:
    return service.customer(customer_id)


@get("/customers/{customer_id:str}/subscriptions", guards=MANAGE, summary="Subscriptions")
async def list_subscriptions(
    customer_id: FromPath[str], billing_service: NamedDependency[BillingService]
) -> list[dict[str, Any]]:
    return [public(row) for row in await billing_service.subscriptions_of(customer_id)]


@customer_route(
    post(
        "/customers/{customer_id:str}/subscriptions",
        status_code=201,
        guards=MANAGE,
        summary="Start a subscription: a Stripe Checkout Session to send the customer to",
    )
)
def subscribe(service: BillingService, customer_id: str, data: Subscribe) -> Awaitable[Any]:
    return service.subscribe(customer_id, data.plan_id, data.seats)


@customer_route(
    post(
        "/customers/{customer_id:str}/checkouts",
        status_code=201,
        guards=MANAGE,
        summary="A one-off payment through Stripe Checkout",
    )
)
def pay_once(service: BillingService, customer_id: str, data: Charge) -> Awaitable[Any]:
    return service.pay_once(customer_id, data.description, data.amount, data.currency)


@customer_route(
    post(
        "/customers/{customer_id:str}/payment-intents",
        status_code=201,
        guards=MANAGE,
        summary="A Stripe PaymentIntent; its client secret is confirmed by Stripe.js",
    )
)
def payment_intent(service: BillingService, customer_id: str, data: Charge) -> Awaitable[Any]:
    return service.payment_intent(customer_id, data.amount, data.currency, data.invoice_id)


@post(
    "/customers/{customer_id:str}/portal",
    status_code=201,
    guards=MANAGE,
    summary="A link to Stripe's customer portal",
)
async def portal(
    customer_id: FromPath[str], billing_service: NamedDependency[BillingService]
) -> dict[str, str]:
    return {"url": await answer(billing_service, billing_service.portal(customer_id))}


@customer_route(
    post(
        "/customers/{customer_id:str}/vipps-payments",
        status_code=201,
        guards=MANAGE,
        summary="A Vipps MobilePay payment; the customer approves it in the app",
    )
)
def vipps_payment(service: BillingService, customer_id: str, data: Charge) -> Awaitable[Any]:
    return service.vipps_payment(
        customer_id, data.amount, data.currency, data.description, data.phone
    )


@row_route(
    get("/payments/{payment_id:str}", guards=MANAGE, summary="A payment, captured and refunded")
)
def show_payment(service: BillingService, payment_id: str) -> Awaitable[dict[str, Any]]:
    return service.payment(payment_id)


@money_route(
    post(
        "/payments/{payment_id:str}/captures",
        status_code=200,
        guards=MANAGE,
        summary="Capture all or part of an authorized Vipps payment",
    )
)
def capture(
    service: BillingService, payment_id: str, amount: int | None, key: str
) -> Awaitable[dict[str, Any]]:
    return service.capture(payment_id, amount, key)


@row_route(
    post(
        "/payments/{payment_id:str}/cancel",
        status_code=200,
        guards=MANAGE,
        summary="Cancel a Vipps payment: what is reserved and not captured goes back",
    )
)
def cancel(service: BillingService, payment_id: str) -> Awaitable[dict[str, Any]]:
    return service.cancel(payment_id)


@money_route(
    post(
        "/payments/{payment_id:str}/refunds",
        status_code=200,
        guards=REFUND,
        summary="Refund all or part of a captured payment (Stripe or Vipps)",
    )
)
def refund(
    service: BillingService, payment_id: str, amount: int | None, key: str
) -> Awaitable[dict[str, Any]]:
    return service.refund(payment_id, amount, key)


@customer_route(
    post(
        "/customers/{customer_id:str}/invoices",
        status_code=201,
        guards=MANAGE,
        summary="Draft an invoice; VAT follows the customer's country",
    )
)
def draft_invoice(
    service: BillingService, customer_id: str, data: DraftInvoice
) -> Awaitable[dict[str, Any]]:
    lines = [Line(line.description, line.quantity, line.unit_amount) for line in data.lines]
    return service.draft_invoice(customer_id, lines)


@post(
    "/invoices/{invoice_id:str}/finalise",
    status_code=200,
    guards=MANAGE,
    summary="Number the invoice (no gaps), book it and put it in the mail outbox",
)
async def finalise_invoice(
    invoice_id: FromPath[str], billing_service: NamedDependency[BillingService]
) -> dict[str, Any]:
    invoice = await answer(billing_service, billing_service.finalise_invoice(invoice_id))
    return public(invoice)  # the `mail` job mails it, from the outbox row committed with it


@row_route(get("/invoices/{invoice_id:str}", guards=MANAGE, summary="An invoice"))
def show_invoice(service: BillingService, invoice_id: str) -> Awaitable[dict[str, Any]]:
    return service.invoice(invoice_id)


@get(
    "/invoices/{invoice_id:str}/pdf",
    guards=MANAGE,
    summary="The invoice as PDF, in the customer's locale",
    media_type="application/pdf",
)
async def invoice_pdf(
    invoice_id: FromPath[str],
    billing_service: NamedDependency[BillingService],
    notices: NamedDependency[Notices],
) -> Response[bytes]:
    invoice = await answer(billing_service, billing_service.invoice(invoice_id))
    content = rendering.pdf(notices.render(invoice))
    name = rendering.pdf_filename(invoice)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@get(
    "/invoices/{invoice_id:str}/html",
    guards=MANAGE,
    summary="The invoice as HTML, in the customer's locale",
    media_type=MediaType.HTML,
)
async def invoice_html(
    invoice_id: FromPath[str],
    billing_service: NamedDependency[BillingService],
    notices: NamedDependency[Notices],
) -> str:
    invoice = await answer(billing_service, billing_service.invoice(invoice_id))
    return rendering.html(notices.render(invoice))


@get("/reconciliation", guards=MANAGE, summary="Compare the ledger with Stripe and Vipps now")
async def reconciliation(billing_service: NamedDependency[BillingService]) -> dict[str, Any]:
    found = await answer(billing_service, reconcile(billing_service))
    return {"differences": [difference.as_dict() for difference in found]}


OPERATOR_ROUTES = [
    create_product,
    create_plan,
    create_customer,
    show_customer,
    list_subscriptions,
    subscribe,
    pay_once,
    payment_intent,
    portal,
    vipps_payment,
    show_payment,
    capture,
    cancel,
    refund,
    draft_invoice,
    finalise_invoice,
    show_invoice,
    invoice_pdf,
    invoice_html,
    reconciliation,
]


# --- wiring --------------------------------------------------------------------------------


def build(ctx: PluginContext) -> list[Any]:
    """The operator API behind the card-data refusal (the webhooks are lean endpoints:
    `webhook_endpoints.py`)."""

    refusal = card_number_refusal(ctx)
    operator = Router(path="/", route_handlers=OPERATOR_ROUTES, before_request=refusal)
    return [operator]
