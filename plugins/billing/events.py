"""What billing tells the runtime: `billing.payment.*`, `billing.subscription.*`,
`billing.invoice.*`. Published after the change they report is committed. They are
notices, not the record: the ledger is the record (a subscriber that must not miss one
reads the journal), so they skip the bus's durable log, which cost more than the webhook's
whole transaction on the hot path (benchmarks/billing.py)."""

from typing import ClassVar

from mindframe.sdk import Event


class BillingEvent(Event):
    durable: ClassVar[bool] = False  # see the module's docstring


class PaymentSucceeded(BillingEvent):
    topic: ClassVar[str] = "billing.payment.succeeded"

    payment_id: str
    customer_id: str | None
    provider: str
    amount: int
    currency: str


class PaymentFailed(BillingEvent):
    topic: ClassVar[str] = "billing.payment.failed"

    payment_id: str
    customer_id: str | None
    provider: str
    reason: str | None = None


class PaymentRefunded(BillingEvent):
    topic: ClassVar[str] = "billing.payment.refunded"

    payment_id: str
    customer_id: str | None
    amount: int
    currency: str


class SubscriptionCreated(BillingEvent):
    topic: ClassVar[str] = "billing.subscription.created"

    subscription_id: str
    customer_id: str | None
    status: str


class SubscriptionUpdated(BillingEvent):
    topic: ClassVar[str] = "billing.subscription.updated"

    subscription_id: str
    customer_id: str | None
    status: str
    cancel_at_period_end: bool


class SubscriptionCancelled(BillingEvent):
    topic: ClassVar[str] = "billing.subscription.cancelled"

    subscription_id: str
    customer_id: str | None


class InvoiceFinalised(BillingEvent):
    topic: ClassVar[str] = "billing.invoice.finalised"

    invoice_id: str
    number: str
    customer_id: str
    total: int
    currency: str


class InvoicePaid(BillingEvent):
    topic: ClassVar[str] = "billing.invoice.paid"

    invoice_id: str
    number: str | None
    customer_id: str


class InvoicePaymentFailed(BillingEvent):
    topic: ClassVar[str] = "billing.invoice.payment_failed"

    invoice_id: str
    customer_id: str
    attempt: int
