"""The two webhook endpoints, `POST /api/billing/webhooks/stripe` and `…/vipps`, served by
the kernel as lean endpoints (`ctx.endpoint`, `mindframe.sdk.endpoints`).

Why not Litestar routes: a webhook needs nothing Litestar adds (no injection, no typed body,
no guard: it trusts only its signature), and on the hot path Litestar's request, handler
and response machinery cost about as much CPU as verifying and parsing the webhook. Same
answers as before: 200 `{"received": "applied" | "duplicate" | "stored"}` once committed,
400 problem details (in the request's locale) for a forged, stale or malformed one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mindframe.sdk import PluginContext
from mindframe.sdk.endpoints import Problem, Request, Response, json_response
from mindframe.sdk.i18n import N_

from .inbox import Inbox, MalformedWebhook, Provider, parse_stripe, parse_vipps
from .signatures import WebhookRefused, verify_stripe, verify_vipps

WEBHOOK_REFUSED = N_("webhook refused: {reason}")
Parse = Callable[[bytes], tuple[str, str, Any]]


def declare(ctx: PluginContext) -> None:
    """Serve both webhook endpoints for as long as this version of the plugin is loaded."""

    def refused(error: Exception) -> Problem:
        return Problem(400, ctx.gettext(WEBHOOK_REFUSED).format(reason=str(error)))

    async def accepted(provider: Provider, body: bytes, parse: Parse) -> Response:
        outcome = await ctx.resolve(Inbox).accept(provider, body, parse)
        return json_response({"received": outcome})

    async def stripe_webhook(request: Request) -> Response:
        settings = ctx.settings
        try:
            verify_stripe(
                request.body,
                request.headers.get("stripe-signature"),
                settings.stripe_webhook_secret.get_secret_value(),
                settings.webhook_tolerance,
            )
            return await accepted("stripe", request.body, parse_stripe)
        except (WebhookRefused, MalformedWebhook) as error:
            raise refused(error) from None

    async def vipps_webhook(request: Request) -> Response:
        settings = ctx.settings
        query = request.query_string.decode()
        try:
            verify_vipps(
                request.body,
                request.headers,
                request.path + (f"?{query}" if query else ""),
                settings.vipps_webhook_secret.get_secret_value(),
                settings.webhook_tolerance,
            )
            return await accepted("vipps", request.body, parse_vipps)
        except (WebhookRefused, MalformedWebhook) as error:
            raise refused(error) from None

    for path, handler, summary in (
        ("/webhooks/stripe", stripe_webhook, "Stripe's webhook endpoint"),
        ("/webhooks/vipps", vipps_webhook, "Vipps MobilePay's webhook endpoint"),
    ):
        ctx.endpoint(["POST"], path, handler, openapi={"post": {"summary": summary}})
