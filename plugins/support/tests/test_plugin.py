"""The plugin as the runtime sees it: health figures, a hot reload that keeps tickets
flowing and its jobs running, giving a ticket back, and deleting a team."""

from __future__ import annotations

import pytest
from support_testlib import AGENT, MANAGER, job_rounds, open_tickets, ticket_of, visitor

pytestmark = pytest.mark.anyio


async def test_health_shows_active_and_unassigned_tickets(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        first, _ = await open_tickets(kernel, agent, 2)
        await agent.post(f"/api/support/tickets/{first['id']}/take")
        health = (await kernel.client.get("/health")).json()["plugins"]["support"]
    assert health == {
        "state": "active",
        "ok": True,
        "active_tickets": 2,
        "unassigned_tickets": 1,
        "breaches_unannounced": 0,
    }


async def test_after_a_hot_reload_tickets_keep_opening_and_the_jobs_run(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        admin = await kernel.as_user(admin=True)
        agent = await kernel.as_user(AGENT)
        before = await ticket_of(kernel, agent, await (await visitor(kernel)).start("before"))
        reloaded = await admin.post("/api/kernel/plugins/support/reload")
        assert reloaded.status_code == 200 and reloaded.json()["ok"], reloaded.text
        after = await ticket_of(kernel, agent, await (await visitor(kernel)).start("after"))
        await job_rounds(kernel, "sla", 2)
        await job_rounds(kernel, "assignment", 2)
        kept = await agent.get(f"/api/support/tickets/{before['id']}")
    assert kept.status_code == 200 and after["id"] == before["id"] + 1


async def test_an_agent_gives_back_only_a_ticket_they_hold(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        ada, bo = await kernel.as_user(AGENT), await kernel.as_user(AGENT)
        [ticket] = await open_tickets(kernel, ada, 1)
        url = f"/api/support/tickets/{ticket['id']}"
        await ada.post(f"{url}/take")
        not_bos = await bo.post(f"{url}/give-back")
        given = await ada.post(f"{url}/give-back")
        took = await kernel.bus_probe.next("support.ticket.assigned")
        back = await kernel.bus_probe.next("support.ticket.assigned")
    assert not_bos.status_code == 409
    assert took.agent_id is not None and back.previous_agent_id == took.agent_id
    assert given.status_code == 200 and given.json()["assignee_id"] is None
    assert back.agent_id is None


async def test_deleting_a_team_sends_its_tickets_to_the_general_queue(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        manager = await kernel.as_user(MANAGER)
        team = (await manager.post("/api/support/teams", json={"name": "VIP"})).json()
        [ticket] = await open_tickets(kernel, manager, 1)
        await manager.patch(f"/api/support/tickets/{ticket['id']}", json={"team_id": team["id"]})
        deleted = await manager.delete(f"/api/support/teams/{team['id']}")
        again = await manager.delete(f"/api/support/teams/{team['id']}")
        shown = await manager.get(f"/api/support/tickets/{ticket['id']}")
        listed = await manager.get("/api/support/teams")
    assert (deleted.status_code, again.status_code) == (204, 404)
    assert shown.json()["team_id"] is None and listed.json() == []
