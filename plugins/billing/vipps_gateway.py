"""Calls to the Vipps MobilePay ePayment API (`/epayment/v1/payments…`) with an access token
from `/accesstoken/get`, kept until shortly before it expires.

Create, capture, refund and cancel carry an `Idempotency-Key` of our making, so a retried
call moves no money twice, and Vipps's webhook for it names the same key.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from .settings import BillingSettings
from .stripe_gateway import ProviderError

TOKEN_MARGIN = 60.0  # seconds before expiry that a token is fetched anew


class VippsGateway:
    def __init__(self, settings: BillingSettings) -> None:
        self._settings = settings
        self._token: tuple[str, float] | None = None
        self._lock = anyio.Lock()
        self._http = httpx.AsyncClient(
            base_url=settings.vipps_api_base, timeout=settings.provider_timeout
        )

    async def close(self) -> None:
        await self._http.aclose()

    def _keys(self) -> dict[str, str]:
        settings = self._settings
        return {
            "Ocp-Apim-Subscription-Key": settings.vipps_subscription_key.get_secret_value(),
            "Merchant-Serial-Number": settings.vipps_merchant_serial_number,
            "Vipps-System-Name": "mindframe",
            "Vipps-System-Version": "0.1.0",
            "Vipps-System-Plugin-Name": "mindframe-billing",
            "Vipps-System-Plugin-Version": "0.1.0",
        }

    async def access_token(self) -> str:
        async with self._lock:
            if self._token is not None and self._token[1] > time.monotonic():
                return self._token[0]
            settings = self._settings
            if not settings.vipps_client_id.get_secret_value():
                raise ProviderError("Vipps is not configured (billing.vipps_client_id)", 503)
            answer = await self._send(
                "POST",
                "/accesstoken/get",
                headers={
                    "client_id": settings.vipps_client_id.get_secret_value(),
                    "client_secret": settings.vipps_client_secret.get_secret_value(),
                    **self._keys(),
                },
            )
            lifetime = float(answer.get("expires_in", 3600))
            self._token = (answer["access_token"], time.monotonic() + lifetime - TOKEN_MARGIN)
            return self._token[0]

    async def _send(
        self, method: str, path: str, *, headers: dict[str, str], body: Any = None
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as error:
            raise ProviderError(f"Vipps: {type(error).__name__}") from None
        if response.status_code >= 400:
            detail = _problem_detail(response)
            status = response.status_code if response.status_code < 500 else 502
            raise ProviderError(f"Vipps: {detail}", status)
        return response.json() if response.content else {}

    async def _call(
        self, method: str, path: str, *, key: str | None = None, body: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {await self.access_token()}", **self._keys()}
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self._send(method, f"/epayment/v1/payments{path}", headers=headers, body=body)

    async def create(
        self, reference: str, amount: int, currency: str, key: str, phone: str | None, text: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "amount": {"currency": currency, "value": amount},
            "paymentMethod": {"type": "WALLET"},
            "reference": reference,
            "userFlow": "WEB_REDIRECT",
            "returnUrl": f"{self._settings.public_url.rstrip('/')}/billing/vipps/{reference}",
            "paymentDescription": text,
        }
        if phone:
            body["customer"] = {"phoneNumber": phone}
        return await self._call("POST", "", key=key, body=body)

    async def get(self, reference: str) -> dict[str, Any]:
        return await self._call("GET", f"/{reference}")

    async def capture(self, reference: str, amount: int, currency: str, key: str) -> dict[str, Any]:
        body = {"modificationAmount": {"currency": currency, "value": amount}}
        return await self._call("POST", f"/{reference}/capture", key=key, body=body)

    async def refund(self, reference: str, amount: int, currency: str, key: str) -> dict[str, Any]:
        body = {"modificationAmount": {"currency": currency, "value": amount}}
        return await self._call("POST", f"/{reference}/refund", key=key, body=body)

    async def cancel(self, reference: str, key: str) -> dict[str, Any]:
        return await self._call("POST", f"/{reference}/cancel", key=key, body={})


def _problem_detail(response: httpx.Response) -> str:
    """Vipps answers errors as RFC 7807 problems: their title and detail, else the status."""
    try:
        problem = response.json()
        return f"{problem.get('title', response.status_code)}: {problem.get('detail', '')}"
    except ValueError:
        return f"HTTP {response.status_code}"
