"""Taking tickets on PostgreSQL, where transactions really run side by side: two agents
racing for each ticket, exactly one gets it; an agent taking many at once stops at their
limit. Skipped when no PostgreSQL answers at 127.0.0.1:5432."""

from __future__ import annotations

from collections import Counter

import anyio
import pytest
from support_testlib import AGENT, MANAGER, open_tickets, over_http, user_id

from mindframe.sdk.browser import serving

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def at_once(calls) -> list[int]:
    """Run the request makers in `calls` together; their status codes, in order."""
    answers = [0] * len(calls)
    go = anyio.Event()

    async def run(index: int) -> None:
        await go.wait()
        answers[index] = (await calls[index]()).status_code

    async with anyio.create_task_group() as group:
        for index in range(len(calls)):
            group.start_soon(run, index)
        go.set()
    return answers


async def test_on_postgresql_two_agents_racing_for_a_ticket_exactly_one_gets_it(
    support_kernel, postgres_url
):
    settings = {"assignment": "manual", "max_concurrent": 100}
    async with support_kernel(**settings, database_url_for_test=postgres_url) as kernel:
        ada, bo = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        tickets = await open_tickets(kernel, ada, 10)
        async with (
            serving(kernel.runtime) as url,
            over_http(url, ada) as a,
            over_http(url, bo) as b,
        ):
            outcomes = []
            for ticket in tickets:
                path = f"/api/support/tickets/{ticket['id']}/take"
                outcomes.append(await at_once([lambda p=path: a.post(p), lambda p=path: b.post(p)]))
        holders = {
            (await ada.get(f"/api/support/tickets/{t['id']}")).json()["assignee_id"]
            for t in tickets
        }
        ids = {await user_id(ada), await user_id(bo)}
    assert all(sorted(o) == [200, 409] for o in outcomes), outcomes
    assert holders <= ids


async def test_on_postgresql_an_agent_taking_many_at_once_stops_at_the_limit(
    support_kernel, postgres_url
):
    async with support_kernel(assignment="manual", database_url_for_test=postgres_url) as kernel:
        manager, agent = await kernel.as_user(MANAGER), await kernel.as_user(AGENT)
        await manager.put(f"/api/support/agents/{await user_id(agent)}", json={"max_concurrent": 3})
        tickets = await open_tickets(kernel, agent, 10)
        async with serving(kernel.runtime) as url, over_http(url, agent) as http:
            answers = await at_once(
                [lambda t=t: http.post(f"/api/support/tickets/{t['id']}/take") for t in tickets]
            )
        held = await agent.get("/api/support/tickets", params={"assignee": "me"})
    assert Counter(answers) == {200: 3, 409: 7}
    assert len(held.json()) == 3
