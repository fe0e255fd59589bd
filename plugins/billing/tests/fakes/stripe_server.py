"""A fake Stripe API on loopback, for the real `stripe` library to talk to.

It speaks Stripe's documented wire format: form-encoded request bodies with bracketed keys
(`line_items[0][price_data][currency]=nok`), JSON objects with `id` and `object`, lists as
`{"object": "list", "data": [...], "has_more": false}`, errors as `{"error": {...}}` with
402 for a declined card; a repeated `Idempotency-Key` gets the first answer again (with
`Idempotent-Replayed`). Events are `{"id": "evt_…", "object": "event", "type", "created",
"data": {"object": …}}`, sent to the webhook target signed as Stripe signs them
(`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, one `v1` per secret
during a rotation), and sent again until answered 2xx.

What a customer would do at Stripe (pay on the Checkout page, confirm a card, a renewal)
is a method here: `complete_checkout`, `confirm`, `renew`.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .common import Call, Server, Target, Webhooks

API_VERSION = "2025-06-30.basil"


def parse_form(body: bytes) -> dict[str, Any]:
    """`a[b][0][c]=1` -> {"a": {"b": [{"c": "1"}]}} (Stripe's bracket encoding)."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            container: Any = [] if following is not None and following.isdigit() else {}
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append({} if not last else None)
                if last:
                    node[position] = value
                else:
                    if not isinstance(node[position], (dict, list)) or not node[position]:
                        node[position] = node[position] or container
                    node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, container)
    return result


def stripe_signature(body: bytes, secrets_: list[str], timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    parts = [f"t={t}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets_]
    return ",".join(parts)


def period_end(start: int, price_data: dict[str, Any]) -> int:
    """The end of a subscription's first period from `start` (unix seconds): 30 days for a
    monthly price (as this fake always had it), the same day and time a year later for a
    yearly one, as Stripe bills it (the 29th of February is followed by the 28th)."""
    if (price_data.get("recurring") or {}).get("interval") != "year":
        return start + 30 * 86400
    begun = datetime.fromtimestamp(start, UTC)
    year = begun.year + 1
    day = min(begun.day, calendar.monthrange(year, begun.month)[1])
    return int(begun.replace(year=year, day=day).timestamp())


class FakeStripe:
    def __init__(self, webhook_secrets: list[str], api_key: str = "sk_test_fake") -> None:
        self.api_key = api_key
        self.webhook_secrets = webhook_secrets
        self.server = Server()
        self.webhooks = Webhooks(self._sign)
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.replays: dict[str, tuple[int, Any]] = {}
        self.card_declines = False
        self.webhook_before_answer = False
        """Send (and wait for) a call's webhooks before answering it: the webhook overtakes
        the API answer, as it may at Stripe."""
        self._ids = itertools.count(1)
        self._collecting: list[dict[str, Any]] | None = None
        routes = [
            ("POST", "/v1/customers", self._create_customer),
            ("POST", "/v1/checkout/sessions", self._create_session),
            ("POST", "/v1/payment_intents", self._create_intent),
            ("GET", "/v1/payment_intents", self._list("payment_intent")),
            ("POST", "/v1/refunds", self._create_refund),
            ("GET", "/v1/refunds", self._list("refund")),
            ("GET", "/v1/subscriptions", self._list("subscription")),
            ("DELETE", r"/v1/subscriptions/(?P<id>[\w]+)", self._cancel_subscription),
            ("POST", "/v1/billing_portal/sessions", self._portal),
            ("POST", r"/v1/invoices/(?P<id>[\w]+)/pay", self._pay_invoice),
        ]
        for method, pattern, handler in routes:
            self.server.route(method, pattern, self._guarded(handler))

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self, target: Target) -> FakeStripe:
        self.webhooks.target = target
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.webhooks.close()
        await self.server.stop()

    def _sign(self, body: bytes, target: Target) -> dict[str, str]:
        return {
            "Stripe-Signature": stripe_signature(body, self.webhook_secrets),
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }

    # --- plumbing --------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}{secrets.token_hex(4)}"

    def _guarded(self, handler: Any) -> Any:
        async def guarded(call: Call) -> tuple[int, Any]:
            if call.headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, {"error": {"type": "invalid_request_error", "message": "bad key"}}
            key = call.headers.get("idempotency-key")
            if call.method == "POST" and key in self.replays:
                return self.replays[key]
            self._collecting = []
            try:
                params = parse_form(call.body) if call.method in ("POST", "DELETE") else {}
                answer = await handler(call, params)
            finally:
                made, self._collecting = self._collecting, None
            if call.method == "POST" and key:
                self.replays[key] = answer
            deliveries = [self._send(event) for event in made]
            if self.webhook_before_answer:
                for delivery in deliveries:
                    await delivery.done.wait()
            return answer

        return guarded

    def _list(self, kind: str) -> Any:
        async def listing(call: Call, params: dict[str, Any]) -> tuple[int, Any]:
            data = [o for o in reversed(self.objects.values()) if o["object"] == kind]
            return 200, {"object": "list", "data": data, "has_more": False, "url": call.path}

        return listing

    def emit(self, kind: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
        """Make an event (queued to send when the current call answers, or sent now)."""
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._clock() if created is None else created,
            "type": kind,
            "livemode": False,
            "pending_webhooks": 1,
            "data": {"object": json.loads(json.dumps(obj))},
        }
        self.events.append(event)
        if self._collecting is not None:
            self._collecting.append(event)
        else:
            self._send(event)
        return event

    def _clock(self) -> int:
        """Seconds, never the same twice: things at Stripe happen one after another, and the
        receiver orders a subscription's events by `created`."""
        self._last_created = max(int(time.time()), self._last_created + 1)
        return self._last_created

    _last_created = 0

    def _send(self, event: dict[str, Any]) -> Any:
        return self.webhooks.send(event["id"], json.dumps(event, indent=2).encode())

    def body_of(self, event: dict[str, Any]) -> bytes:
        return json.dumps(event, indent=2).encode()

    # --- the API ---------------------------------------------------------------------------

    async def _create_customer(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
            "livemode": False,
        }
        self.objects[customer["id"]] = customer
        return 200, customer

    async def _create_session(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        items = params.get("line_items", [])
        total = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items
        )
        session = {
            "id": self.new_id("cs_test"),
            "object": "checkout.session",
            "mode": params["mode"],
            "customer": params.get("customer"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": items[0]["price_data"]["currency"] if items else "nok",
            "subscription": None,
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/pay/{secrets.token_hex(8)}",
            "line_items_params": items,
            "subscription_data": params.get("subscription_data", {}),
            "payment_intent_data": params.get("payment_intent_data", {}),
        }
        self.objects[session["id"]] = session
        return 200, {k: v for k, v in session.items() if not k.endswith("_params")}

    def _intent(
        self, amount: int, currency: str, customer: str | None, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        intent_id = self.new_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "customer": customer,
            "metadata": metadata,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "latest_charge": None,
            "last_payment_error": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.objects[intent_id] = intent
        return intent

    async def _create_intent(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        intent = self._intent(
            int(params["amount"]),
            params["currency"],
            params.get("customer"),
            params.get("metadata", {}),
        )
        return 200, intent

    def _succeed(self, intent: dict[str, Any]) -> dict[str, Any]:
        charge = {
            "id": self.new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "customer": intent["customer"],
            "payment_intent": intent["id"],
            "metadata": intent["metadata"],
            "refunded": False,
            "refunds": {"object": "list", "data": [], "has_more": False},
        }
        self.objects[charge["id"]] = charge
        intent.update(status="succeeded", amount_received=intent["amount"])
        intent["latest_charge"] = charge["id"]
        return charge

    def _decline(self, intent: dict[str, Any]) -> None:
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        }

    async def _create_refund(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        intent = self.objects[params["payment_intent"]]
        charge = self.objects[intent["latest_charge"]]
        amount = int(params.get("amount", charge["amount"] - charge["amount_refunded"]))
        if amount > charge["amount"] - charge["amount_refunded"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Refund amount is greater than the unrefunded amount.",
                }
            }
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "payment_intent": intent["id"],
            "charge": charge["id"],
            "status": "succeeded",
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        self.objects[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        self.emit("charge.refunded", charge)
        return 200, refund

    async def _portal(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        portal = {
            "id": self.new_id("bps"),
            "object": "billing_portal.session",
            "customer": params["customer"],
            "return_url": params.get("return_url"),
            "url": f"{self.url}/p/session/{secrets.token_hex(8)}",
        }
        return 200, portal

    async def _cancel_subscription(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        subscription = self.objects[call.params["id"]]
        subscription["status"] = "canceled"
        self.emit("customer.subscription.deleted", subscription)
        return 200, subscription

    async def _pay_invoice(self, call: Call, params: dict[str, Any]) -> tuple[int, Any]:
        invoice = self.objects[call.params["id"]]
        if self.card_declines:
            self._fail_invoice(invoice)
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                }
            }
        self._pay(invoice)
        return 200, invoice

    # --- what happens at Stripe ------------------------------------------------------------

    def _invoice(self, subscription: dict[str, Any], amount: int, reason: str) -> dict[str, Any]:
        """An invoice of the subscription's; `reason` is Stripe's `billing_reason`
        (`subscription_create` for the first period, `subscription_cycle` for a renewal)."""
        intent = self._intent(amount, subscription["currency"], subscription["customer"], {})
        invoice = {
            "id": self.new_id("in"),
            "object": "invoice",
            "customer": subscription["customer"],
            "subscription": subscription["id"],
            "status": "open",
            "amount_due": amount,
            "amount_paid": 0,
            "total": amount,
            "currency": subscription["currency"],
            "attempt_count": 0,
            "billing_reason": reason,
            "payment_intent": intent["id"],
            "lines": {
                "object": "list",
                "data": [{"description": subscription["description"], "amount": amount}],
            },
        }
        intent["invoice"] = invoice["id"]
        self.objects[invoice["id"]] = invoice
        subscription["latest_invoice"] = invoice["id"]
        return invoice

    def _pay(self, invoice: dict[str, Any]) -> None:
        intent = self.objects[invoice["payment_intent"]]
        self._succeed(intent)
        invoice.update(status="paid", amount_paid=invoice["amount_due"])
        invoice["attempt_count"] += 1
        self.emit("payment_intent.succeeded", intent)
        self.emit("invoice.paid", invoice)
        subscription = self.objects[invoice["subscription"]]
        if subscription["status"] == "past_due":
            subscription["status"] = "active"
            self.emit("customer.subscription.updated", subscription)

    def _fail_invoice(self, invoice: dict[str, Any]) -> None:
        intent = self.objects[invoice["payment_intent"]]
        self._decline(intent)
        invoice["attempt_count"] += 1
        self.emit("payment_intent.payment_failed", intent)
        self.emit("invoice.payment_failed", invoice)
        subscription = self.objects[invoice["subscription"]]
        if subscription["status"] != "past_due":
            subscription["status"] = "past_due"
            self.emit("customer.subscription.updated", subscription)

    def complete_checkout(self, session_id: str) -> dict[str, Any]:
        """The customer paid on the Checkout page: what Stripe makes, and its events."""
        session = self.objects[session_id]
        session.update(status="complete", payment_status="paid")
        items = session["line_items_params"]
        if session["mode"] == "payment":
            metadata = session["payment_intent_data"].get("metadata", session["metadata"])
            intent = self._intent(
                session["amount_total"], session["currency"], session["customer"], metadata
            )
            self._succeed(intent)
            session["payment_intent"] = intent["id"]
            self.emit("payment_intent.succeeded", intent)
        else:
            data = session["subscription_data"]
            trial = int(data.get("trial_period_days", 0))
            now = int(time.time())
            subscription = {
                "id": self.new_id("sub"),
                "object": "subscription",
                "customer": session["customer"],
                "status": "trialing" if trial else "active",
                "cancel_at_period_end": False,
                "current_period_start": now,
                "current_period_end": period_end(now, items[0]["price_data"]),
                "trial_end": now + trial * 86400 if trial else None,
                "metadata": data.get("metadata", {}),
                "currency": session["currency"],
                "description": items[0]["price_data"]["product_data"]["name"],
                "unit_amount": int(items[0]["price_data"]["unit_amount"]),
                "items": {
                    "object": "list",
                    "data": [{"id": self.new_id("si"), "quantity": int(items[0]["quantity"])}],
                },
            }
            self.objects[subscription["id"]] = subscription
            session["subscription"] = subscription["id"]
            self.emit("customer.subscription.created", subscription)
            if not trial:
                first = self._invoice(subscription, session["amount_total"], "subscription_create")
                self._pay(first)
        view = {k: v for k, v in session.items() if not k.endswith(("_params", "_data"))}
        self.emit("checkout.session.completed", view)
        return session

    def confirm(self, intent_id: str, succeed: bool = True) -> dict[str, Any]:
        """The customer's browser confirmed the PaymentIntent with Stripe.js."""
        intent = self.objects[intent_id]
        if succeed:
            self._succeed(intent)
            self.emit("payment_intent.succeeded", intent)
        else:
            self._decline(intent)
            self.emit("payment_intent.payment_failed", intent)
        return intent

    def renew(self, subscription_id: str, succeed: bool) -> dict[str, Any]:
        """The next period starts: a new invoice, collected or declined."""
        subscription = self.objects[subscription_id]
        amount = subscription["unit_amount"] * subscription["items"]["data"][0]["quantity"]
        invoice = self._invoice(subscription, amount, "subscription_cycle")
        if succeed:
            self._pay(invoice)
        else:
            self._fail_invoice(invoice)
        return invoice

    def update_subscription(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        subscription = self.objects[subscription_id]
        subscription.update(changes)
        self.emit("customer.subscription.updated", subscription)
        return subscription

    def collect(self, invoice_id: str) -> dict[str, Any]:
        """A later attempt on an open invoice succeeds (Stripe's own retry)."""
        invoice = self.objects[invoice_id]
        self._pay(invoice)
        return invoice

    def refund_in_dashboard(self, intent_id: str, amount: int) -> dict[str, Any]:
        """Someone refunds at Stripe, not through us."""
        intent = self.objects[intent_id]
        charge = self.objects[intent["latest_charge"]]
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "payment_intent": intent_id,
            "charge": charge["id"],
            "status": "succeeded",
            "metadata": {},
            "created": int(time.time()),
        }
        self.objects[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunds"]["data"].insert(0, refund)
        self.emit("charge.refunded", charge)
        return refund

    def cancel(self, subscription_id: str) -> dict[str, Any]:
        subscription = self.objects[subscription_id]
        subscription["status"] = "canceled"
        self.emit("customer.subscription.deleted", subscription)
        return subscription

    def sessions(self) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["object"] == "checkout.session"]

    async def settled(self, timeout: float = 10.0) -> None:
        await self.webhooks.settled(timeout)
        await asyncio.sleep(0)
