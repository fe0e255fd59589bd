"""Calls to Stripe through the official `stripe` library, at the configured API base.

Every call that creates something carries an `Idempotency-Key` derived from our own row
(`customer-<id>`, `payment-<id>`, `refund-<payment>-<key>` …), so a retry after a timeout
or a crash makes nothing twice. Card data never passes here: customers enter it on Stripe's
Checkout page or in Stripe.js with the PaymentIntent's client secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .settings import BillingSettings

if TYPE_CHECKING:
    import stripe


class ProviderError(RuntimeError):
    """A provider refused or could not be reached; `status` is what to answer (502 by
    default, the provider's own 4xx when it refused our request)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


class StripeGateway:
    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            import stripe  # where it is used: importing the plugin stays cheap

            key = self._settings.stripe_api_key.get_secret_value()
            if not key:
                raise ProviderError("Stripe is not configured (billing.stripe_api_key)", 503)
            self._client = stripe.StripeClient(
                key,
                base_addresses={"api": self._settings.stripe_api_base},
                http_client=stripe.HTTPXClient(timeout=self._settings.provider_timeout),
                max_network_retries=2,
            )
        return self._client

    async def _call(self, coroutine: Any) -> Any:
        import stripe

        try:
            return await coroutine
        except stripe.StripeError as error:
            status = error.http_status if error.http_status and error.http_status < 500 else 502
            message = f"Stripe: {error.user_message or type(error).__name__}"
            raise ProviderError(message, status) from None

    @staticmethod
    def _options(key: str) -> dict[str, Any]:
        return {"idempotency_key": key}

    async def create_customer(self, customer_id: str, email: str | None, name: str | None) -> str:
        params: dict[str, Any] = {"metadata": {"mindframe_customer_id": customer_id}}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        customer = await self._call(
            self.client.v1.customers.create_async(
                params=params,  # type: ignore[arg-type]
                options=self._options(f"customer-{customer_id}"),  # type: ignore[arg-type]
            )
        )
        return str(customer.id)

    async def checkout(
        self,
        key: str,
        *,
        mode: str,
        customer: str,
        line_items: list[dict[str, Any]],
        metadata: dict[str, str],
        extra: dict[str, Any],
    ) -> tuple[str, str]:
        """A Checkout Session (`mode` "subscription" or "payment"): (its id, its URL)."""
        base = self._settings.public_url.rstrip("/")
        params = {
            "mode": mode,
            "customer": customer,
            "line_items": line_items,
            "metadata": metadata,
            "client_reference_id": metadata["mindframe_customer_id"],
            "success_url": f"{base}/billing/checkout/done?session={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{base}/billing/checkout/cancelled",
            **extra,
        }
        session = await self._call(
            self.client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options=self._options(key),  # type: ignore[arg-type]
            )
        )
        return str(session.id), str(session.url)

    async def create_payment_intent(
        self, payment_id: str, amount: int, currency: str, customer: str
    ) -> Any:
        return await self._call(
            self.client.v1.payment_intents.create_async(
                params={  # type: ignore[arg-type]
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer,
                    "metadata": {"mindframe_payment_id": payment_id},
                    "automatic_payment_methods": {"enabled": True},
                },
                options=self._options(f"payment-{payment_id}"),  # type: ignore[arg-type]
            )
        )

    async def refund(self, key: str, payment_intent: str, amount: int) -> Any:
        return await self._call(
            self.client.v1.refunds.create_async(
                params={"payment_intent": payment_intent, "amount": amount},
                options=self._options(key),  # type: ignore[arg-type]
            )
        )

    async def portal(self, customer: str, key: str) -> str:
        session = await self._call(
            self.client.v1.billing_portal.sessions.create_async(
                params={"customer": customer, "return_url": self._settings.public_url},
                options=self._options(key),  # type: ignore[arg-type]
            )
        )
        return str(session.url)

    async def pay_invoice(self, invoice: str, key: str) -> Any:
        return await self._call(
            self.client.v1.invoices.pay_async(
                invoice,
                options=self._options(key),  # type: ignore[arg-type]
            )
        )

    async def cancel_subscription(self, subscription: str, key: str) -> Any:
        return await self._call(
            self.client.v1.subscriptions.cancel_async(
                subscription,
                options=self._options(key),  # type: ignore[arg-type]
            )
        )

    async def payment_intents(self) -> AsyncIterator[Any]:
        """Every PaymentIntent, newest first (for reconciliation)."""
        page = await self._call(self.client.v1.payment_intents.list_async({"limit": 100}))
        async for intent in page.auto_paging_iter():
            yield intent

    async def refunds(self) -> AsyncIterator[Any]:
        page = await self._call(self.client.v1.refunds.list_async({"limit": 100}))
        async for refund in page.auto_paging_iter():
            yield refund

    async def subscriptions(self) -> AsyncIterator[Any]:
        page = await self._call(
            self.client.v1.subscriptions.list_async({"limit": 100, "status": "all"})
        )
        async for subscription in page.auto_paging_iter():
            yield subscription
