"""In Debian's Chromium: a shop's page embeds the chat widget, a visitor types, the agent's
socket receives the message and its ticket opens in Norwegian; the agent answers from the
console with the Norwegian canned greeting, and the widget shows it."""

from __future__ import annotations

import json

import pytest
from support_testlib import AGENT, MANAGER, agent_socket, ticket_of, user_id

from mindframe.sdk.browser import browser, serving, serving_page  # noqa: F401 - the fixture

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SHOP = """<!doctype html><html lang="nb"><head><title>Butikk</title></head>
<body><h1>Butikken</h1><script src="{url}/chat/widget.js" async></script></body></html>"""


async def signed_in_page(browser, url: str, signed_in):  # noqa: F811
    """A browser page signed in as `signed_in`'s user (their session cookie)."""
    context = await browser.new_context(locale="nb-NO")
    await context.add_cookies(
        [{"name": c.name, "value": c.value, "url": url} for c in signed_in.cookies.jar]
    )
    return context, await context.new_page()


async def test_an_agent_answers_the_widget_with_a_norwegian_canned_response(
    support_kernel,
    browser,  # noqa: F811
):
    greeting = "Hei, takk for at du tok kontakt! Jeg heter Per og skal hjelpe deg."
    async with support_kernel(assignment="manual") as kernel, serving(kernel.runtime) as url:
        manager, agent = await kernel.as_user(MANAGER), await kernel.as_user(AGENT)
        await manager.put(f"/api/support/agents/{await user_id(agent)}", json={"name": "Per"})
        visitor_context = await browser.new_context(locale="nb-NO")
        widget_page = await visitor_context.new_page()
        with serving_page(SHOP.format(url=url)) as shop:
            async with agent_socket(url, agent) as socket:
                await widget_page.goto(shop)
                await widget_page.locator("[data-mindframe-chat] .button").click()
                panel = widget_page.locator("[data-mindframe-chat] .panel")
                await panel.locator(".status").filter(has_text="Vi er på nett").wait_for()
                await panel.locator("input[type=text]").fill("Hei! Pakken min har ikke kommet")
                await panel.locator("input[type=text]").press("Enter")

                created = await socket.next(lambda f: f.get("type") == "conversation")
                conversation_id = created["conversation"]["id"]
                await socket.send({"type": "join", "conversation_id": conversation_id})
                heard = await socket.next(lambda f: f.get("type") == "message")
                assert heard["text"] == "Hei! Pakken min har ikke kommet"
                ticket = await ticket_of(kernel, agent, conversation_id)
                assert ticket["locale"] == "nb"

                console_context, console = await signed_in_page(browser, url, agent)
                await console.goto(f"{url}/support/tickets/{ticket['id']}")
                await console.locator("button.use", has_text="/hello").click()
                assert await console.locator("#reply-text").input_value() == greeting
                await console.locator("#reply button[type=submit]").click()

                answered = panel.locator(".message .text").filter(has_text="Jeg heter Per")
                await answered.wait_for()
                shown = await answered.text_content()
                sent = await socket.next(
                    lambda f: (
                        f.get("type") == "message" and f.get("author", {}).get("kind") == "agent"
                    )
                )
                uses = {r["id"]: r["uses"] for r in (await agent.get("/api/support/canned")).json()}
                await console_context.close()
        await visitor_context.close()
    assert shown == greeting
    assert sent["text"] == greeting, json.dumps(sent)
    assert uses["builtin:greeting"] == 1  # sent unchanged: counted as the canned response
