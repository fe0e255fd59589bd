"""A fake Vipps MobilePay ePayment API and Webhooks sender on loopback.

Documented shapes: `POST /accesstoken/get` (headers `client_id`, `client_secret`,
`Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number`) answers `access_token` and
`expires_in` (a string of seconds); `POST /epayment/v1/payments` with an `Idempotency-Key`
answers 201 `{redirectUrl, reference}`; `GET …/{reference}` answers `state`, `amount`,
`aggregate` (`authorizedAmount`, `capturedAmount`, `refundedAmount`, `cancelledAmount`),
`pspReference`; `…/capture` and `…/refund` take `{"modificationAmount": {currency, value}}`
and `…/cancel`; errors are RFC 7807 problems. Webhooks carry `msn, reference, pspReference,
name, amount, timestamp, idempotencyKey, success`, signed as the Webhooks API signs them:
`x-ms-date`, `x-ms-content-sha256` (base64 SHA-256 of the body) and `Authorization:
HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64 HMAC of
"POST\\n<path and query>\\n<date>;<host>;<hash>">`, sent again until answered 2xx.

The Recurring API v3 beside it: `POST /recurring/v3/agreements` (`pricing {type, amount,
currency}`, `interval {unit, count}`, `merchantRedirectUrl`, `merchantAgreementUrl`,
`phoneNumber`, `productName`, `externalId`; with an `Idempotency-Key`) answers 201
`{agreementId, vippsConfirmationUrl, chargeId}`; `GET …/agreements/{id}` answers its
`status` (PENDING, ACTIVE, STOPPED, EXPIRED); `PATCH …/agreements/{id}` with
`{"status": "STOPPED"}` stops it (204); `POST …/agreements/{id}/charges` (`amount`,
`transactionType` DIRECT_CAPTURE, `description`, `due`, `retryDays`, `externalId`; an
`Idempotency-Key`) answers 201 `{chargeId}`, a charge PENDING, then DUE, then CHARGED or
FAILED; `GET …/charges/{chargeId}` answers it. Its webhooks (`recurring.agreement-activated.v1`,
`…-stopped.v1`, `…-expired.v1`, `recurring.charge-captured.v1`, `recurring.charge-failed.v1`)
carry `agreementId, agreementExternalId, chargeId, chargeExternalId, amount, currency,
chargeType, eventType, occurred, actor` (and `failureReason` when a charge fails), signed as
above.

What happens in the app is a method here: `authorize`, `abort`, `accept_agreement`; what
happens on a charge's due date is `collect` (charged, or failed with a reason).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from .common import Call, Server, Target, Webhooks


def vipps_headers(
    body: bytes, secret: str, host: str, path: str, date: str | None = None
) -> dict[str, str]:
    date = date or formatdate(usegmt=True)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    signed = f"POST\n{path}\n{date};{host};{digest}"
    signature = base64.b64encode(
        hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    ).decode()
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": digest,
        "Authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={signature}",
        "Content-Type": "application/json",
    }


def problem(status: int, title: str, detail: str, instance: str) -> tuple[int, Any]:
    return status, {
        "type": f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "traceId": uuid.uuid4().hex,
    }


class FakeVipps:
    def __init__(
        self,
        webhook_secret: str,
        *,
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        subscription_key: str = "subscription-key",
        msn: str = "123456",
    ) -> None:
        self.webhook_secret = webhook_secret
        self.keys = (client_id, client_secret, subscription_key, msn)
        self.server = Server()
        self.webhooks = Webhooks(self._sign)
        self.payments: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.replays: dict[tuple[str, str], tuple[int, Any]] = {}
        self.webhook_before_answer = False
        self._collecting: list[dict[str, Any]] | None = None
        base = "/epayment/v1/payments"
        self.server.route("POST", "/accesstoken/get", self._token)
        self.server.route("POST", base, self._api(self._create))
        self.server.route("GET", f"{base}/(?P<reference>[A-Za-z0-9-]+)", self._api(self._get))
        self.agreements: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        recurring = "/recurring/v3/agreements"
        agreement = f"{recurring}/(?P<agreement>agr_[A-Za-z0-9]+)"
        self.server.route("POST", recurring, self._api(self._create_agreement))
        self.server.route("GET", agreement, self._api(self._get_agreement))
        self.server.route("PATCH", agreement, self._api(self._update_agreement))
        self.server.route("POST", f"{agreement}/charges", self._api(self._create_charge))
        self.server.route(
            "GET", f"{agreement}/charges/(?P<charge>chr-[A-Za-z0-9]+)", self._api(self._get_charge)
        )
        for action in ("capture", "refund", "cancel"):
            handler = getattr(self, f"_{action}")
            self.server.route(
                "POST", f"{base}/(?P<reference>[A-Za-z0-9-]+)/{action}", self._api(handler)
            )

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self, target: Target) -> FakeVipps:
        self.webhooks.target = target
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.webhooks.close()
        await self.server.stop()

    def _sign(self, body: bytes, target: Target) -> dict[str, str]:
        return vipps_headers(body, self.webhook_secret, target.host, target.path)

    # --- plumbing --------------------------------------------------------------------------

    async def _token(self, call: Call) -> tuple[int, Any]:
        client_id, client_secret, subscription_key, _ = self.keys
        headers = call.headers
        if (
            headers.get("client_id") != client_id
            or headers.get("client_secret") != client_secret
            or headers.get("ocp-apim-subscription-key") != subscription_key
        ):
            return problem(401, "Unauthorized", "bad client credentials", call.path)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {
            "token_type": "Bearer",
            "expires_in": "3600",
            "ext_expires_in": "3600",
            "expires_on": str(int(datetime.now(UTC).timestamp()) + 3600),
            "not_before": str(int(datetime.now(UTC).timestamp())),
            "resource": "00000002-0000-0000-c000-000000000000",
            "access_token": token,
        }

    def _api(self, handler: Any) -> Any:
        async def checked(call: Call) -> tuple[int, Any]:
            token = call.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.tokens:
                return problem(401, "Unauthorized", "no valid access token", call.path)
            if call.headers.get("ocp-apim-subscription-key") != self.keys[2]:
                return problem(401, "Unauthorized", "bad subscription key", call.path)
            if call.headers.get("merchant-serial-number") != self.keys[3]:
                return problem(400, "Bad Request", "wrong Merchant-Serial-Number", call.path)
            key = call.headers.get("idempotency-key")
            if call.method in ("POST", "PATCH"):
                if not key:
                    return problem(400, "Bad Request", "Idempotency-Key is required", call.path)
                if (call.path, key) in self.replays:
                    return self.replays[(call.path, key)]
            body = json.loads(call.body) if call.body else {}
            self._collecting = []
            try:
                answer = await handler(call, body, key)
            finally:
                made, self._collecting = self._collecting, None
            if call.method in ("POST", "PATCH") and answer[0] < 500:
                self.replays[(call.path, key or "")] = answer
            deliveries = [self._send(event) for event in made]
            if self.webhook_before_answer:
                for delivery in deliveries:
                    await delivery.done.wait()
            return answer

        return checked

    def emit(self, payment: dict[str, Any], name: str, amount: int, key: str | None) -> dict:
        event = {
            "msn": self.keys[3],
            "reference": payment["reference"],
            "pspReference": str(uuid.uuid4()),
            "name": name,
            "amount": {"currency": payment["amount"]["currency"], "value": amount},
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "idempotencyKey": key,
            "success": True,
        }
        payment["events"].append(event)
        if self._collecting is not None:
            self._collecting.append(event)
        else:
            self._send(event)
        return event

    def _send(self, event: dict[str, Any]) -> Any:
        event_id = event.get("pspReference") or f"{event['eventType']}:{event['occurred']}"
        return self.webhooks.send(event_id, self.body_of(event))

    @staticmethod
    def body_of(event: dict[str, Any]) -> bytes:
        return json.dumps(event, separators=(",", ":")).encode()

    def view(self, payment: dict[str, Any]) -> dict[str, Any]:
        currency = payment["amount"]["currency"]
        return {
            "aggregate": {
                name: {"currency": currency, "value": payment[name]}
                for name in (
                    "authorizedAmount",
                    "cancelledAmount",
                    "capturedAmount",
                    "refundedAmount",
                )
            },
            "amount": payment["amount"],
            "state": payment["state"],
            "paymentMethod": {"type": "WALLET"},
            "profile": {},
            "pspReference": payment["pspReference"],
            "reference": payment["reference"],
        }

    # --- the API ---------------------------------------------------------------------------

    async def _create(self, call: Call, body: dict[str, Any], key: str) -> tuple[int, Any]:
        reference = body.get("reference", "")
        if not (8 <= len(reference) <= 64) or reference in self.payments:
            return problem(400, "Bad Request", "reference must be new and 8-64 long", call.path)
        payment = {
            "reference": reference,
            "amount": body["amount"],
            "state": "CREATED",
            "pspReference": str(uuid.uuid4()),
            "authorizedAmount": 0,
            "cancelledAmount": 0,
            "capturedAmount": 0,
            "refundedAmount": 0,
            "events": [],
            "request": body,
        }
        self.payments[reference] = payment
        self.emit(payment, "CREATED", body["amount"]["value"], key)
        token = secrets.token_urlsafe(12)
        return 201, {"redirectUrl": f"{self.url}/landing?token={token}", "reference": reference}

    async def _get(self, call: Call, body: dict[str, Any], key: str | None) -> tuple[int, Any]:
        payment = self.payments.get(call.params["reference"])
        if payment is None:
            return problem(404, "Not Found", "no such payment", call.path)
        return 200, self.view(payment)

    def _amount(self, body: dict[str, Any]) -> int:
        return int(body["modificationAmount"]["value"])

    async def _capture(self, call: Call, body: dict[str, Any], key: str) -> tuple[int, Any]:
        payment = self.payments[call.params["reference"]]
        amount = self._amount(body)
        left = payment["authorizedAmount"] - payment["capturedAmount"] - payment["cancelledAmount"]
        if payment["state"] != "AUTHORIZED" or amount > left:
            return problem(
                400, "Cannot capture", f"{left} can be captured, not {amount}", call.path
            )
        payment["capturedAmount"] += amount
        event = self.emit(payment, "CAPTURED", amount, key)
        return 200, {**self.view(payment), "pspReference": event["pspReference"]}

    async def _refund(self, call: Call, body: dict[str, Any], key: str) -> tuple[int, Any]:
        payment = self.payments[call.params["reference"]]
        amount = self._amount(body)
        left = payment["capturedAmount"] - payment["refundedAmount"]
        if amount > left:
            return problem(400, "Cannot refund", f"{left} can be refunded, not {amount}", call.path)
        payment["refundedAmount"] += amount
        event = self.emit(payment, "REFUNDED", amount, key)
        return 200, {**self.view(payment), "pspReference": event["pspReference"]}

    async def _cancel(self, call: Call, body: dict[str, Any], key: str) -> tuple[int, Any]:
        payment = self.payments[call.params["reference"]]
        if payment["state"] == "AUTHORIZED":
            left = payment["authorizedAmount"] - payment["capturedAmount"]
            payment["cancelledAmount"] += left
            payment["state"] = "TERMINATED"
            self.emit(payment, "CANCELLED", left, key)
        elif payment["state"] == "CREATED":
            payment["state"] = "TERMINATED"
            self.emit(payment, "TERMINATED", payment["amount"]["value"], key)
        return 200, self.view(payment)

    # --- what happens in the app -----------------------------------------------------------

    def authorize(self, reference: str) -> dict[str, Any]:
        payment = self.payments[reference]
        payment["state"] = "AUTHORIZED"
        payment["authorizedAmount"] = payment["amount"]["value"]
        return self.emit(payment, "AUTHORIZED", payment["amount"]["value"], None)

    def abort(self, reference: str) -> dict[str, Any]:
        payment = self.payments[reference]
        payment["state"] = "ABORTED"
        return self.emit(payment, "ABORTED", payment["amount"]["value"], None)

    # --- the Recurring API -----------------------------------------------------------------

    def emit_recurring(
        self, event_type: str, agreement: dict[str, Any], charge: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "msn": self.keys[3],
            "agreementId": agreement["id"],
            "agreementExternalId": agreement.get("externalId"),
            "chargeId": None,
            "chargeExternalId": None,
            "amount": None,
            "currency": agreement["pricing"]["currency"],
            "chargeType": None,
            "eventType": event_type,
            "occurred": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "actor": "USER",
        }
        if charge is not None:
            event.update(
                chargeId=charge["id"],
                chargeExternalId=charge.get("externalId"),
                amount=charge["amount"],
                chargeType=charge["type"],
                actor="MERCHANT",
            )
            if charge["status"] == "FAILED":
                event["failureReason"] = charge["failureReason"]
                event["failureDescription"] = "The charge could not be completed"
        agreement["events"].append(event)
        if self._collecting is not None:
            self._collecting.append(event)
        else:
            self._send(event)
        return event

    def agreement_view(self, agreement: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in agreement.items() if k not in ("events", "request")}

    async def _create_agreement(self, call: Call, body: dict[str, Any], key: str) -> tuple:
        pricing, interval = body.get("pricing") or {}, body.get("interval") or {}
        needed = ("merchantRedirectUrl", "merchantAgreementUrl", "productName")
        if (
            pricing.get("type") != "LEGACY"
            or int(pricing.get("amount") or 0) <= 0
            or interval.get("unit") not in ("DAY", "WEEK", "MONTH", "YEAR")
            or any(not body.get(name) for name in needed)
        ):
            return problem(400, "Bad Request", "pricing, interval, URLs, productName", call.path)
        agreement_id = f"agr_{secrets.token_hex(6)}"
        self.agreements[agreement_id] = {
            "id": agreement_id,
            "status": "PENDING",
            "pricing": pricing,
            "interval": interval,
            "productName": body["productName"],
            "merchantRedirectUrl": body["merchantRedirectUrl"],
            "merchantAgreementUrl": body["merchantAgreementUrl"],
            "externalId": body.get("externalId"),
            "phoneNumber": body.get("phoneNumber"),
            "start": None,
            "stop": None,
            "events": [],
            "request": body,
        }
        token = secrets.token_urlsafe(12)
        return 201, {
            "agreementId": agreement_id,
            "vippsConfirmationUrl": f"{self.url}/recurring/confirm?token={token}",
            "chargeId": None,
        }

    async def _get_agreement(self, call: Call, body: dict[str, Any], key: str | None) -> tuple:
        agreement = self.agreements.get(call.params["agreement"])
        if agreement is None:
            return problem(404, "Not Found", "no such agreement", call.path)
        return 200, self.agreement_view(agreement)

    async def _update_agreement(self, call: Call, body: dict[str, Any], key: str) -> tuple:
        agreement = self.agreements.get(call.params["agreement"])
        if agreement is None:
            return problem(404, "Not Found", "no such agreement", call.path)
        if body.get("status") == "STOPPED" and agreement["status"] in ("PENDING", "ACTIVE"):
            agreement["status"] = "STOPPED"
            agreement["stop"] = datetime.now(UTC).isoformat()
            self.emit_recurring("recurring.agreement-stopped.v1", agreement)
        return 204, None

    async def _create_charge(self, call: Call, body: dict[str, Any], key: str) -> tuple:
        agreement = self.agreements.get(call.params["agreement"])
        if agreement is None or agreement["status"] != "ACTIVE":
            return problem(400, "Bad Request", "the agreement is not ACTIVE", call.path)
        if body.get("transactionType") not in ("DIRECT_CAPTURE", "RESERVE_CAPTURE"):
            return problem(400, "Bad Request", "transactionType", call.path)
        if int(body.get("amount") or 0) <= 0 or not body.get("due") or not body.get("description"):
            return problem(400, "Bad Request", "amount, due and description", call.path)
        charge_id = f"chr-{secrets.token_hex(6)}"
        self.charges[charge_id] = {
            "id": charge_id,
            "agreementId": agreement["id"],
            "status": "PENDING",
            "amount": int(body["amount"]),
            "currency": agreement["pricing"]["currency"],
            "transactionType": body["transactionType"],
            "description": body["description"],
            "due": body["due"],
            "retryDays": int(body.get("retryDays") or 0),
            "externalId": body.get("externalId"),
            "type": "RECURRING",
            "failureReason": None,
        }
        return 201, {"chargeId": charge_id}

    async def _get_charge(self, call: Call, body: dict[str, Any], key: str | None) -> tuple:
        charge = self.charges.get(call.params["charge"])
        if charge is None or charge["agreementId"] != call.params["agreement"]:
            return problem(404, "Not Found", "no such charge", call.path)
        return 200, charge

    def accept_agreement(self, agreement_id: str) -> dict[str, Any]:
        """The customer accepts the agreement in the app."""
        agreement = self.agreements[agreement_id]
        agreement["status"] = "ACTIVE"
        agreement["start"] = datetime.now(UTC).isoformat()
        return self.emit_recurring("recurring.agreement-activated.v1", agreement)

    def collect(self, charge_id: str, failure: str | None = None) -> dict[str, Any]:
        """The charge's due date came: it is charged, or it fails with `failure`
        (`insufficient_funds`, `expired_card`, …) once its retry days are over."""
        charge = self.charges[charge_id]
        agreement = self.agreements[charge["agreementId"]]
        if failure is None:
            charge["status"] = "CHARGED"
            return self.emit_recurring("recurring.charge-captured.v1", agreement, charge)
        charge["status"], charge["failureReason"] = "FAILED", failure
        return self.emit_recurring("recurring.charge-failed.v1", agreement, charge)

    async def settled(self, timeout: float = 10.0) -> None:
        await self.webhooks.settled(timeout)
