"""The agents' console under `/support/`: tickets with filters, a ticket with its
conversation and canned responses; what customers wrote is shown as text, never markup;
only agents get in; the page carries the session's CSRF token for its script."""

from __future__ import annotations

import pytest
from markupsafe import escape
from support_testlib import AGENT, ticket_of, visitor

pytestmark = pytest.mark.anyio
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="pwned=2">'


async def test_the_ticket_list_filters_and_shows_customers_text_as_text(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        mean = await visitor(kernel, HOSTILE)
        hostile = await ticket_of(kernel, agent, await mean.start("hi"))
        await agent.patch(f"/api/support/tickets/{hostile['id']}", json={"labels": ["<b>x</b>"]})
        calm = await ticket_of(kernel, agent, await (await visitor(kernel, "Kari")).start("hei"))
        await agent.post(f"/api/support/tickets/{calm['id']}/status", json={"status": "pending"})
        everything = await agent.get("/support/", headers={"Accept-Language": "nb"})
        pending = await agent.get("/support/?status=pending")
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("text/html")
    page = everything.text
    assert "<script>window.pwned" not in page and "<b>x</b>" not in page
    assert str(escape("<b>x</b>")) in page
    assert '<html lang="nb">' in page and "Saker" in page  # Norwegian: "Tickets"
    assert f'data-ticket="{hostile["id"]}"' in page and f'data-ticket="{calm["id"]}"' in page
    assert f'data-ticket="{calm["id"]}"' in pending.text
    assert f'data-ticket="{hostile["id"]}"' not in pending.text


async def test_a_ticket_page_shows_the_conversation_escaped_with_canned_responses(
    support_kernel,
):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start(HOSTILE)
        ticket = await ticket_of(kernel, agent, conversation_id)
        page = await agent.get(f"/support/tickets/{ticket['id']}")
        missing = await agent.get("/support/tickets/999")
        token = agent.headers["X-CSRF-Token"]
    assert page.status_code == 200
    assert HOSTILE not in page.text and str(escape(HOSTILE)) in page.text
    assert 'class="use"' in page.text and "/hello" in page.text  # canned responses offered
    assert f'data-csrf="{token}"' in page.text  # what its script sends back
    assert missing.status_code == 404


async def test_only_agents_open_the_console(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        anonymous = await kernel.client.get("/support/")
        outsider = await (await kernel.as_user()).get("/support/")
    assert (anonymous.status_code, outsider.status_code) == (401, 403)


async def test_the_rating_page_is_open_to_anyone_in_their_language(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        page = await kernel.client.get(
            "/support/csat/some-token", headers={"Accept-Language": "de"}
        )
    assert page.status_code == 200 and "Wie waren wir?" in page.text
    assert 'data-token="some-token"' in page.text
