"""SLA timers: a missed first-response or resolution deadline raises
`support.ticket.sla_breached` once per breach, however often the `sla` job runs; a deadline
met raises nothing; a breach recorded but not yet announced when the process stopped is
announced by the next one, with the same id."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from support_testlib import AGENT, events, eventually, job_rounds, ticket_of, visitor

pytestmark = pytest.mark.anyio

SECONDS = 1 / 60  # a minute setting of this many minutes is one second


async def past(moment: str) -> None:
    """Return once the clock has passed `moment` (ISO 8601)."""
    deadline = datetime.fromisoformat(moment).timestamp()

    async def passed() -> bool:
        return time.time() > deadline

    await eventually(passed)


QUICK = {
    "first_response_minutes": {"normal": 0.2 * SECONDS, "low": 60.0},
    "resolution_minutes": {"normal": 0.4 * SECONDS, "low": 120.0},
}


async def test_each_missed_deadline_is_raised_once_however_often_the_job_runs(support_kernel):
    async with support_kernel(assignment="manual", **QUICK) as kernel:
        agent = await kernel.as_user(AGENT)
        conversation_id = await (await visitor(kernel, "Kari")).start("Anyone there?")
        ticket = await ticket_of(kernel, agent, conversation_id)
        first = await kernel.bus_probe.next("support.ticket.sla_breached")
        second = await kernel.bus_probe.next("support.ticket.sla_breached")
        await job_rounds(kernel, "sla", 5)
        raised = events(kernel, "support.ticket.sla_breached")
        health = (await kernel.client.get("/health")).json()["plugins"]["support"]
    assert [(e.ticket_id, e.kind) for e in raised] == [
        (ticket["id"], "first_response"),
        (ticket["id"], "resolution"),
    ]
    assert first.breached_at >= first.due_at and second.kind == "resolution"
    assert first.breach_id != second.breach_id
    assert health["breaches_unannounced"] == 0


async def test_deadlines_met_raise_nothing(support_kernel):
    targets = {"normal": 1.0 * SECONDS, "low": 60.0}  # one second
    async with support_kernel(
        assignment="manual", first_response_minutes=targets, resolution_minutes=targets
    ) as kernel:
        agent = await kernel.as_user(AGENT)
        conversation_id = await (await visitor(kernel, "Kari")).start("Quick one")
        ticket = await ticket_of(kernel, agent, conversation_id)
        url = f"/api/support/tickets/{ticket['id']}"
        await agent.post(f"{url}/reply", json={"text": "Done!"})
        await agent.post(f"{url}/status", json={"status": "resolved"})
        deadline = time.time() + 1.2
        while time.time() < deadline:  # past both deadlines, the job running all along
            await job_rounds(kernel, "sla", 1)
        shown = (await agent.get(url)).json()
    assert shown["first_response_at"] is not None and shown["resolved_at"] is not None
    assert events(kernel, "support.ticket.sla_breached") == []


async def test_a_late_first_answer_is_still_a_breach_and_only_one(support_kernel):
    quick_first = {"first_response_minutes": {"normal": 0.2 * SECONDS}}
    async with support_kernel(assignment="manual", sla_interval=3600.0, **quick_first) as kernel:
        agent = await kernel.as_user(AGENT)
        conversation_id = await (await visitor(kernel, "Kari")).start("Hello?")
        ticket = await ticket_of(kernel, agent, conversation_id)
        await past(ticket["first_response_due"])  # nobody answered in time; no job ran
        await agent.post(f"/api/support/tickets/{ticket['id']}/reply", json={"text": "Sorry!"})
        await kernel.bus_probe.next("chat.message.created")
        await kernel.bus_probe.next("chat.message.created")
        await job_rounds(kernel, "sla", 3)
        raised = events(kernel, "support.ticket.sla_breached")
    assert [(e.ticket_id, e.kind) for e in raised] == [(ticket["id"], "first_response")]


async def test_a_breach_recorded_but_not_announced_is_announced_after_a_restart(support_kernel):
    from mindframe_plugins.support.service import SupportService
    from mindframe_plugins.support.sla_job import record_breaches

    quick_first = {"first_response_minutes": {"normal": 0.2 * SECONDS}}
    async with support_kernel(assignment="manual", sla_interval=3600.0, **quick_first) as kernel:
        agent = await kernel.as_user(AGENT)
        conversation_id = await (await visitor(kernel, "Kari")).start("Hello?")
        await past((await ticket_of(kernel, agent, conversation_id))["first_response_due"])
        service = kernel.runtime.container.resolve(SupportService)
        # the job's first half, as if the process died right after committing it
        [recorded] = await service.ctx.transaction(record_breaches, time.time())
        assert events(kernel, "support.ticket.sla_breached") == []
    async with support_kernel(assignment="manual", sla_interval=3600.0, **quick_first) as kernel:
        announced = await kernel.bus_probe.next("support.ticket.sla_breached")
        await job_rounds(kernel, "sla", 2)
        again = events(kernel, "support.ticket.sla_breached")
    assert (announced.breach_id, announced.kind) == (recorded["id"], "first_response")
    assert len(again) == 1
