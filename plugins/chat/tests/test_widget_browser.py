"""The widget in Debian's Chromium: a shop's page embeds it with one script tag, a visitor
types, an agent's socket receives the message, the agent replies, the widget shows it (as
text, in the visitor's language), and it keeps working through a reload of chat and a
disable/enable of it (the 1012 "reconnect now" close)."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from mindframe.sdk.browser import browser, serving_page  # noqa: F401 - the fixture

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SHOP = """<!doctype html><html lang="nb"><head><title>Butikk</title></head>
<body><h1>Butikken</h1><script src="{url}/chat/widget.js" async></script></body></html>"""


async def test_a_visitor_and_an_agent_talk_through_the_embedded_widget(chat, browser):  # noqa: F811
    with ExitStack() as stack:
        await talk_through_the_widget(chat, browser, stack)


async def talk_through_the_widget(chat, browser, stack: ExitStack) -> None:  # noqa: F811
    kernel = chat.kernel
    admin = await kernel.as_user(admin=True, username="root")
    context = await browser.new_context(locale="nb-NO")
    page = await context.new_page()
    shop = stack.enter_context(serving_page(SHOP.format(url=chat.url)))
    async with chat.socket(await chat.agent_headers("per")) as agent_ws:
        agent = await chat.agent(agent_ws)
        await page.goto(shop)
        await page.locator("[data-mindframe-chat] .button").click()
        panel = page.locator("[data-mindframe-chat] .panel")
        await panel.locator(".status").filter(has_text="Vi er på nett").wait_for()
        assert await panel.locator("input[type=text]").get_attribute("placeholder") == (
            "Skriv en melding …"
        )
        hostile = '<img src=x onerror="window.pwned=1">Hei! Jeg trenger hjelp'
        await panel.locator("input[type=text]").fill(hostile)
        await panel.locator("input[type=text]").press("Enter")

        conversation_id = (await agent.next("conversation"))["conversation"]["id"]
        await agent.send(type="join", conversation_id=conversation_id, after=0)
        [message] = await agent.messages(1)
        assert message["text"] == hostile and message["author"]["kind"] == "visitor"
        await agent.say("Hei! <b>Hva</b> gjelder det?", conversation_id)
        reply = panel.locator(".message .text").filter(has_text="gjelder det?")
        await reply.wait_for()
        assert await reply.text_content() == "Hei! <b>Hva</b> gjelder det?"
        assert await panel.locator(".log img, .log b").count() == 0
        assert await page.evaluate("window.pwned") is None

        endpoint = kernel.runtime.dispatcher.sockets.find("/api/chat/ws")
        before = {c.id for c in endpoint.live()}
        reloaded = await admin.post("/api/kernel/plugins/chat/reload")
        assert reloaded.status_code == 200 and reloaded.json()["ok"]
        await agent.say("Etter omlasting", conversation_id)
        await panel.locator(".message .text").filter(has_text="Etter omlasting").wait_for()
        assert {c.id for c in endpoint.live()} == before  # the very same sockets

    assert (await admin.post("/api/kernel/plugins/chat/disable")).status_code == 200
    assert (await admin.post("/api/kernel/plugins/chat/enable")).status_code == 200
    async with chat.socket(await chat.agent_headers("kari")) as agent_ws:
        agent = await chat.agent(agent_ws)
        await agent.send(type="join", conversation_id=conversation_id, after=0)
        await agent.say("Etter en ny tilkobling", conversation_id)
        await panel.locator(".message .text").filter(has_text="Etter en ny tilkobling").wait_for()
        texts = await panel.locator(".message .text").all_text_contents()
        assert texts == [
            hostile,
            "Hei! <b>Hva</b> gjelder det?",
            "Etter omlasting",
            "Etter en ny tilkobling",
        ]  # resumed from its cursor: no gap, no duplicate
        await panel.locator("input[type=text]").fill("Takk!")
        await panel.locator("input[type=text]").press("Enter")
        thanks = await agent.next("message")
        while thanks["text"] != "Takk!":
            thanks = await agent.next("message")
        assert thanks["seq"] == 5
    await context.close()
