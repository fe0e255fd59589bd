"""Calls to the Vipps MobilePay Recurring API v3 (`/recurring/v3/agreements…`), with the
access token, keys and error handling of the ePayment client (`VippsGateway`).

An agreement is the customer's standing consent, accepted in the app; each renewal is a
charge on it. Creating an agreement or a charge and stopping an agreement carry an
`Idempotency-Key` of our making, so a retried call makes nothing twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .vipps_gateway import VippsGateway

INTERVAL_UNITS = {"month": "MONTH", "year": "YEAR"}
RETRY_DAYS = 5  # Vipps retries a failed charge daily for this many days before it fails


class VippsRecurringGateway:
    def __init__(self, vipps: VippsGateway) -> None:
        self._vipps = vipps

    async def _call(
        self, method: str, path: str, *, key: str | None = None, body: Any = None
    ) -> dict[str, Any]:
        vipps = self._vipps
        headers = {"Authorization": f"Bearer {await vipps.access_token()}", **vipps._keys()}
        if key is not None:
            headers["Idempotency-Key"] = key
        path = f"/recurring/v3/agreements{path}"
        return await vipps._send(method, path, headers=headers, body=body)

    async def create_agreement(
        self,
        *,
        key: str,
        external_id: str,
        amount: int,
        currency: str,
        interval: str,
        product: str,
        phone: str | None,
        return_url: str,
    ) -> dict[str, Any]:
        """A PENDING agreement: `agreementId` and the `vippsConfirmationUrl` to send the
        customer to."""
        body: dict[str, Any] = {
            "pricing": {"type": "LEGACY", "amount": amount, "currency": currency},
            "interval": {"unit": INTERVAL_UNITS[interval], "count": 1},
            "merchantRedirectUrl": return_url,
            "merchantAgreementUrl": return_url,
            "productName": product,
            "externalId": external_id,
        }
        if phone:
            body["phoneNumber"] = phone
        return await self._call("POST", "", key=key, body=body)

    async def agreement(self, agreement_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/{agreement_id}")

    async def stop(self, agreement_id: str, key: str) -> None:
        await self._call("PATCH", f"/{agreement_id}", key=key, body={"status": "STOPPED"})

    async def charge(
        self,
        agreement_id: str,
        *,
        key: str,
        external_id: str,
        amount: int,
        description: str,
        due: date,
    ) -> str:
        """A charge collected on `due` (DIRECT_CAPTURE); its `chargeId`."""
        body = {
            "amount": amount,
            "transactionType": "DIRECT_CAPTURE",
            "description": description,
            "due": due.isoformat(),
            "retryDays": RETRY_DAYS,
            "externalId": external_id,
        }
        answer = await self._call("POST", f"/{agreement_id}/charges", key=key, body=body)
        return str(answer["chargeId"])

    async def get_charge(self, agreement_id: str, charge_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/{agreement_id}/charges/{charge_id}")
