"""CSAT and figures: a resolved ticket asks its customer for a rating (1-5 and a comment),
taken once through the link; first-response time, resolution time and CSAT per agent and
per team over the API."""

from __future__ import annotations

import re

import pytest
from support_testlib import AGENT, MANAGER, eventually, ticket_of, user_id, visitor

pytestmark = pytest.mark.anyio
LINK = re.compile(r"/support/csat/([\w-]+)")


async def resolved_with_link(kernel, agent, kari, conversation_id: str) -> tuple[dict, str]:
    """Answer and resolve the conversation's ticket; the ticket and the rating token the
    customer was sent in the conversation."""
    ticket = await ticket_of(kernel, agent, conversation_id)
    url = f"/api/support/tickets/{ticket['id']}"
    await agent.post(f"{url}/reply", json={"text": "Fixed it for you."})
    resolved = await agent.post(f"{url}/status", json={"status": "resolved"})
    assert resolved.status_code == 200, resolved.text

    async def link() -> str | None:
        for message in await kari.messages(conversation_id):
            found = LINK.search(message["text"])
            if found and message["author"]["kind"] == "system":
                return found.group(1)
        return None

    return ticket, await eventually(link)


async def test_a_resolved_ticket_asks_for_a_rating_which_is_taken_once(support_kernel):
    async with support_kernel(assignment="manual", public_url="https://help.example") as kernel:
        agent = await kernel.as_user(AGENT)
        agent_id = await user_id(agent)
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start("My invoice is wrong")
        ticket, token = await resolved_with_link(kernel, agent, kari, conversation_id)
        asked = (await kari.messages(conversation_id))[-1]["text"]
        rated = await kernel.client.post(
            f"/api/support/csat/{token}", json={"score": 4, "comment": "Quick and kind"}
        )
        heard = await kernel.bus_probe.next("support.ticket.csat_received")
        twice = await kernel.client.post(f"/api/support/csat/{token}", json={"score": 1})
        unknown = await kernel.client.post("/api/support/csat/nope", json={"score": 5})
        too_high = await kernel.client.post(f"/api/support/csat/{token}", json={"score": 6})
    assert asked.startswith("How did we do? Rate this conversation from 1 to 5: ")
    assert f"https://help.example/support/csat/{token}" in asked
    assert rated.status_code == 201, rated.text
    assert rated.json() == {"ticket_id": ticket["id"], "score": 4}
    assert (heard.ticket_id, heard.score, heard.agent_id) == (ticket["id"], 4, agent_id)
    assert twice.status_code == 409 and twice.json()["detail"].startswith("this ticket has been")
    assert (unknown.status_code, too_high.status_code) == (404, 400)


async def test_a_ticket_opened_again_cannot_be_rated_until_resolved_again(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start("Broken")
        ticket, token = await resolved_with_link(kernel, agent, kari, conversation_id)
        await agent.post(f"/api/support/tickets/{ticket['id']}/status", json={"status": "open"})
        early = await kernel.client.post(f"/api/support/csat/{token}", json={"score": 2})
        await agent.post(f"/api/support/tickets/{ticket['id']}/status", json={"status": "resolved"})
        later = await kernel.client.post(f"/api/support/csat/{token}", json={"score": 5})
    assert early.status_code == 409 and later.status_code == 201


async def test_figures_per_agent_and_team_count_response_times_and_ratings(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        manager = await kernel.as_user(MANAGER)
        ada, bo = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        ada_id, bo_id = await user_id(ada), await user_id(bo)
        team = (await manager.post("/api/support/teams", json={"name": "Billing"})).json()
        scores = {ada_id: [5, 3], bo_id: [2]}
        for agent, agent_id in ((ada, ada_id), (ada, ada_id), (bo, bo_id)):
            kari = await visitor(kernel, "Kari")
            conversation_id = await kari.start("Help")
            ticket = await ticket_of(kernel, agent, conversation_id)
            await manager.patch(
                f"/api/support/tickets/{ticket['id']}", json={"team_id": team["id"]}
            )
            await agent.post(f"/api/support/tickets/{ticket['id']}/take")
            _, token = await resolved_with_link(kernel, agent, kari, conversation_id)
            score = scores[agent_id].pop(0)
            assert (
                await kernel.client.post(f"/api/support/csat/{token}", json={"score": score})
            ).status_code == 201
        by_agent = {
            row["agent"]: row for row in (await manager.get("/api/support/stats/agents")).json()
        }
        by_team = (await manager.get("/api/support/stats/teams")).json()
        refused = await ada.get("/api/support/stats/agents")
    assert (by_agent[ada_id]["resolved"], by_agent[ada_id]["csat_count"]) == (2, 2)
    assert by_agent[ada_id]["csat_average"] == 4.0 and by_agent[bo_id]["csat_average"] == 2.0
    assert by_agent[ada_id]["first_responses"] == 2 and by_agent[bo_id]["first_responses"] == 1
    for row in by_agent.values():
        assert 0 < row["first_response_seconds"] <= row["resolution_seconds"] < 60
    [billing] = by_team
    assert (billing["team"], billing["resolved"], billing["csat_count"]) == (team["id"], 3, 3)
    assert billing["csat_average"] == round((5 + 3 + 2) / 3, 3)
    assert refused.status_code == 403
