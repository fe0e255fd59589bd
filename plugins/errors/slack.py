"""An alert as a Slack-compatible incoming-webhook message, and the POST that delivers it.

The message has a plain `text` (what notifications and clients without blocks show) and
`blocks`: a section with the headline and the issue (linked when the page's address is
known) and a context line with the facts. Slack reads `&`, `<` and `>` as markup (`<!here>`
would ping a channel), so everything taken from an event is escaped first.
"""

from __future__ import annotations

from typing import Any

import httpx

from .alert_text import AlertText

SECTION_LIMIT = 3000
"""Slack's longest text in a section or context element."""


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(text: AlertText) -> dict[str, Any]:
    """The JSON body for an incoming webhook."""
    title = escape(text.title)
    if text.url:
        title = f"<{escape(text.url)}|{title}>"
    section = f"*{escape(text.headline)}*\n{title}"
    facts = " · ".join(escape(fact) for fact in text.facts)
    return {
        "text": f"{text.headline}: {text.title}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section[:SECTION_LIMIT]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": facts[:SECTION_LIMIT]}]},
        ],
    }


class WebhookDown(Exception):
    """The webhook could not be reached or did not answer 2xx; worth another try."""


async def post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
    """POST `body` to the webhook; `WebhookDown` unless it answers 2xx. The URL holds the
    webhook's secret, so no error names it."""
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as error:
        raise WebhookDown(f"the webhook could not be reached: {type(error).__name__}") from None
    if not response.is_success:
        raise WebhookDown(f"the webhook answered {response.status_code}: {response.text[:200]}")
