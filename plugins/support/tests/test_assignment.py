"""Who holds a ticket: taking it (two agents racing: exactly one gets it), the concurrent
limit, round robin and least loaded among online agents, away and offline agents, teams'
queues, and managers assigning."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import anyio
import pytest
from support_testlib import (
    AGENT,
    MANAGER,
    agent_socket,
    eventually,
    job_rounds,
    open_tickets,
    over_http,
    ticket_of,
    user_id,
    visitor,
)

from mindframe.sdk.browser import serving
from mindframe.sdk.chat import ChatService

pytestmark = pytest.mark.anyio


async def holders_of(client, tickets, every: bool = True) -> list[str | None] | None:
    """Who holds each ticket; None (with `every`) until all are held."""
    holders = [
        (await client.get(f"/api/support/tickets/{t['id']}")).json()["assignee_id"] for t in tickets
    ]
    return holders if all(holders) or not every else None


async def race(clients, path: str) -> list[int]:
    """POST `path` from every client at once; the status codes, in the clients' order."""
    answers: list[int] = [0] * len(clients)
    start = anyio.Event()

    async def take(index: int) -> None:
        await start.wait()
        answers[index] = (await clients[index].post(path)).status_code

    async with anyio.create_task_group() as group:
        for index in range(len(clients)):
            group.start_soon(take, index)
        start.set()
    return answers


async def test_two_agents_racing_for_the_same_ticket_exactly_one_gets_it(support_kernel):
    async with support_kernel(assignment="manual", max_concurrent=100) as kernel:
        ada, bo = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        ids = {await user_id(ada): "ada", await user_id(bo): "bo"}
        tickets = await open_tickets(kernel, ada, 8)
        async with (
            serving(kernel.runtime) as url,
            over_http(url, ada) as ada_http,
            over_http(url, bo) as bo_http,
        ):
            outcomes = [
                await race([ada_http, bo_http], f"/api/support/tickets/{t['id']}/take")
                for t in tickets
            ]
        holders = [(await ada.get(f"/api/support/tickets/{t['id']}")).json() for t in tickets]
        assigned = [e for _, e in kernel.bus_probe.seen if e.topic == "support.ticket.assigned"]
    assert all(sorted(o) == [200, 409] for o in outcomes), outcomes
    winners = ["ada" if o[0] == 200 else "bo" for o in outcomes]
    assert [ids[h["assignee_id"]] for h in holders] == winners
    assert len(assigned) == len(tickets)  # one announcement per ticket, not one per taker


async def test_the_losing_taker_hears_who_was_quicker_as_a_problem_detail(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        ada, bo = await kernel.as_user(AGENT, username="ada"), await kernel.as_user(AGENT)
        [ticket] = await open_tickets(kernel, ada, 1)
        assert (await ada.post(f"/api/support/tickets/{ticket['id']}/take")).status_code == 200
        late = await bo.post(f"/api/support/tickets/{ticket['id']}/take")
        ada_id = await user_id(ada)
    assert late.status_code == 409
    assert late.json()["detail"] == f"ticket {ticket['id']} is already taken by {ada_id}"


async def test_an_agent_never_holds_more_than_their_limit_even_taking_at_once(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        manager, agent = await kernel.as_user(MANAGER), await kernel.as_user(AGENT)
        agent_id = await user_id(agent)
        limited = await manager.put(f"/api/support/agents/{agent_id}", json={"max_concurrent": 2})
        assert limited.status_code == 200, limited.text
        tickets = await open_tickets(kernel, agent, 5)
        async with serving(kernel.runtime) as url, over_http(url, agent) as http:
            answers = Counter()
            async with anyio.create_task_group() as group:
                for ticket in tickets:

                    async def take(ticket_id: int = ticket["id"]) -> None:
                        response = await http.post(f"/api/support/tickets/{ticket_id}/take")
                        answers[response.status_code] += 1

                    group.start_soon(take)
        assert answers == {200: 2, 409: 3}
        mine = (await agent.get("/api/support/tickets", params={"assignee": "me"})).json()
        resolved = await agent.post(
            f"/api/support/tickets/{mine[0]['id']}/status", json={"status": "resolved"}
        )
        free = next(t for t in tickets if t["id"] not in {m["id"] for m in mine})
        room_again = await agent.post(f"/api/support/tickets/{free['id']}/take")
    assert len(mine) == 2
    assert resolved.status_code == 200 and room_again.status_code == 200


async def test_round_robin_deals_tickets_to_online_agents_in_turn(support_kernel):
    async with support_kernel(assignment="round_robin") as kernel:
        agents = [await kernel.as_user(AGENT, username=name) for name in ("ada", "bo", "cy")]
        offline = await kernel.as_user(AGENT, username="dee")
        ids = sorted([await user_id(a) for a in agents])
        async with (
            serving(kernel.runtime) as url,
            agent_socket(url, agents[0]),
            agent_socket(url, agents[1]),
            agent_socket(url, agents[2]),
        ):
            tickets = await open_tickets(kernel, offline, 6)
            holders = await eventually(lambda: holders_of(offline, tickets))
        dee = await user_id(offline)
    assert dee not in holders
    assert Counter(holders) == {agent_id: 2 for agent_id in ids}
    turns = [ids.index(h) for h in holders]
    assert all((b - a) % 3 == 1 for a, b in pairwise(turns)), turns


async def test_least_loaded_gives_the_next_ticket_to_whoever_holds_fewest(support_kernel):
    async with support_kernel(assignment="least_loaded") as kernel:
        busy, idle = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        busy_id, idle_id = await user_id(busy), await user_id(idle)
        [held] = await open_tickets(kernel, busy, 1)  # nobody online: it waits
        assert (await busy.post(f"/api/support/tickets/{held['id']}/take")).status_code == 200
        async with (
            serving(kernel.runtime) as url,
            agent_socket(url, busy),
            agent_socket(url, idle),
        ):
            tickets = await open_tickets(kernel, busy, 3)
            dealt = await eventually(lambda: holders_of(busy, tickets))
    assert Counter(dealt) == {idle_id: 2, busy_id: 1}  # two each in the end


async def test_away_agents_get_no_new_tickets(support_kernel):
    async with support_kernel(assignment="round_robin") as kernel:
        present, resting = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        present_id, resting_id = await user_id(present), await user_id(resting)
        chat = kernel.runtime.container.resolve(ChatService)
        async with (
            serving(kernel.runtime) as url,
            agent_socket(url, present),
            agent_socket(url, resting) as rest,
        ):
            await rest.send({"type": "presence", "status": "away"})

            async def is_away() -> bool:
                return any(
                    p.agent_id == resting_id and p.status == "away"
                    for p in await chat.agents_present()
                )

            await eventually(is_away)
            tickets = await open_tickets(kernel, present, 3)
            dealt = await eventually(lambda: holders_of(present, tickets))
    assert set(dealt) == {present_id}


async def test_an_agent_going_offline_hands_their_open_tickets_to_someone_present(
    support_kernel,
):
    async with support_kernel(assignment="round_robin") as kernel:
        leaving, staying = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        leaving_id, staying_id = await user_id(leaving), await user_id(staying)
        async with serving(kernel.runtime) as url:
            async with agent_socket(url, leaving):
                tickets = await open_tickets(kernel, staying, 2)
                before = await eventually(lambda: holders_of(staying, tickets))
            async with agent_socket(url, staying):
                after = await eventually(lambda: _held_by(staying, tickets, staying_id))
        handovers = [
            e
            for _, e in kernel.bus_probe.seen
            if e.topic == "support.ticket.assigned" and e.previous_agent_id == leaving_id
        ]
    assert before == [leaving_id, leaving_id]
    assert after == [staying_id, staying_id]
    assert {e.ticket_id for e in handovers} == {t["id"] for t in tickets}


async def _held_by(client, tickets, agent_id: str) -> list[str] | None:
    holders = await holders_of(client, tickets, every=False)
    return holders if holders and all(h == agent_id for h in holders) else None


async def test_a_teams_queue_is_served_by_its_own_members_only(support_kernel):
    async with support_kernel(assignment="round_robin") as kernel:
        manager = await kernel.as_user(MANAGER)
        member, outsider = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        member_id, outsider_id = await user_id(member), await user_id(outsider)
        team = (await manager.post("/api/support/teams", json={"name": "Billing"})).json()
        members = await manager.put(
            f"/api/support/teams/{team['id']}/members", json={"agents": [member_id]}
        )
        assert members.status_code == 200, members.text
        billing, general = await open_tickets(kernel, manager, 2)  # nobody online: they wait
        moved = await manager.patch(
            f"/api/support/tickets/{billing['id']}", json={"team_id": team["id"]}
        )
        assert moved.json()["team_id"] == team["id"]
        async with serving(kernel.runtime) as url:
            async with agent_socket(url, outsider):
                [dealt] = await eventually(lambda: holders_of(manager, [general]))
                await job_rounds(kernel, "assignment", 2)  # it had its chances at billing
                [waiting] = await holders_of(manager, [billing], every=False)
            async with agent_socket(url, member):
                [served] = await eventually(lambda: holders_of(manager, [billing]))
    assert (dealt, waiting, served) == (outsider_id, None, member_id)


async def test_a_manager_assigns_and_the_chat_conversation_follows(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        manager, agent = await kernel.as_user(MANAGER), await kernel.as_user(AGENT)
        agent_id, manager_id = await user_id(agent), await user_id(manager)
        conversation_id = await (await visitor(kernel, "Kari")).start("Hello")
        ticket = await ticket_of(kernel, manager, conversation_id)
        given = await manager.post(
            f"/api/support/tickets/{ticket['id']}/assign", json={"agent_id": agent_id}
        )
        announced = await kernel.bus_probe.next("support.ticket.assigned")
        mirrored = await kernel.bus_probe.next("chat.conversation.assigned")
        in_chat = await agent.get(f"/api/chat/conversations/{conversation_id}")
    assert given.status_code == 200 and given.json()["assignee_id"] == agent_id
    assert (announced.agent_id, announced.by) == (agent_id, manager_id)
    assert mirrored.agent_id == agent_id
    assert in_chat.json()["assignee_id"] == agent_id


async def test_assigning_in_chat_moves_the_ticket_too(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        agent_id = await user_id(agent)
        conversation_id = await (await visitor(kernel, "Kari")).start("Hello")
        ticket = await ticket_of(kernel, agent, conversation_id)
        assigned = await agent.post(
            f"/api/chat/conversations/{conversation_id}/assign", json={"agent_id": agent_id}
        )
        assert assigned.status_code in (200, 201), assigned.text

        async def follows() -> bool:
            shown = await agent.get(f"/api/support/tickets/{ticket['id']}")
            return shown.json()["assignee_id"] == agent_id

        await eventually(follows)
        announced = await kernel.bus_probe.next("support.ticket.assigned")
    assert (announced.ticket_id, announced.agent_id) == (ticket["id"], agent_id)
