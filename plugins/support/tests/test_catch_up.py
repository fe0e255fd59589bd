"""Support catches up on chat messages it did not hear (`chat.message.created` is not kept
by the bus): an agent's reply written while support was disabled still reaches the
customer by mail, once, at a real SMTP server (aiosmtpd); and a message heard twice changes
its ticket once (no second mail, no reopening of a ticket resolved since)."""

from __future__ import annotations

import anyio
import pytest
from mindframe_plugins.support.models import tickets
from mindframe_plugins.support.service import SupportService
from sqlalchemy import select, update
from support_testlib import (
    AGENT,
    events,
    eventually,
    one_more_ticket,
    send_mail,
    ticket_of,
    user_id,
    visitor,
)

pytestmark = pytest.mark.anyio

SETTLE = 0.5
"""Seconds a test waits, after what it waits for arrived, for a second mail were one sent."""


async def test_a_reply_written_while_support_was_disabled_is_mailed_once_when_it_returns(
    mail_kernel, sink
):
    async with mail_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        admin = await kernel.as_user(admin=True)
        await send_mail(kernel.inbound_port, message_id="<away@customer.test>", text="Refund?")
        ticket = await one_more_ticket(agent, 0)
        disabled = await admin.post("/api/kernel/plugins/support/disable")
        assert disabled.status_code == 200, disabled.text

        conversation = f"/api/chat/conversations/{ticket['conversation_id']}/messages"
        written = await agent.post(conversation, json={"text": "Refunded today."})
        assert written.status_code == 201, written.text
        enabled = await admin.post("/api/kernel/plugins/support/enable")
        assert enabled.status_code == 200, enabled.text

        await sink.wait_for(1)
        await anyio.sleep(SETTLE)
        url = f"/api/support/tickets/{ticket['id']}"
        answered = await eventually(lambda: _field(agent, url, "first_response_at"), timeout=5.0)
        agent_id = await user_id(agent)
        after = (await agent.get(url)).json()
    [reply] = sink.received
    assert reply["To"] == "kari@customer.test"
    assert reply["In-Reply-To"] == "<away@customer.test>"
    assert reply.get_content().strip() == "Refunded today."
    assert answered and after["first_responder_id"] == agent_id


async def test_a_message_heard_twice_changes_its_ticket_once(mail_kernel, sink):
    async with mail_kernel(assignment="manual", csat_by_mail=False) as kernel:
        agent = await kernel.as_user(AGENT)
        await send_mail(kernel.inbound_port, message_id="<twice@customer.test>", text="Broken")
        ticket = await one_more_ticket(agent, 0)
        asked = await kernel.bus_probe.next("chat.message.created")
        url = f"/api/support/tickets/{ticket['id']}"
        replied = await agent.post(f"{url}/reply", json={"text": "Fixed."})
        assert replied.status_code == 201, replied.text
        answer = await kernel.bus_probe.next("chat.message.created")
        await sink.wait_for(1)
        resolved = await agent.post(f"{url}/status", json={"status": "resolved"})
        assert resolved.status_code == 200, resolved.text

        for event in (asked, answer):  # as a redelivery would bring them
            await kernel.runtime.bus.publish(event)
        await kernel.bus_probe.next("chat.message.created")
        await kernel.bus_probe.next("chat.message.created")
        await anyio.sleep(SETTLE)
        after = (await agent.get(url)).json()
    assert (asked.author_kind, answer.author_kind) == ("visitor", "agent")
    assert len(sink.received) == 1
    assert after["status"] == "resolved"  # the customer's old message did not reopen it


async def _field(client, url: str, name: str):
    return (await client.get(url)).json().get(name)


async def test_a_reply_written_while_the_mail_plugin_was_disabled_is_mailed_when_it_returns(
    mail_kernel, sink
):
    async with mail_kernel(assignment="manual", catch_up_interval=0.1) as kernel:
        agent = await kernel.as_user(AGENT)
        admin = await kernel.as_user(admin=True)
        await send_mail(kernel.inbound_port, message_id="<nomail@customer.test>", text="Hello?")
        ticket = await one_more_ticket(agent, 0)
        assert (await admin.post("/api/kernel/plugins/mail/disable")).status_code == 200
        url = f"/api/support/tickets/{ticket['id']}"
        replied = await agent.post(f"{url}/reply", json={"text": "Here I am."})
        assert replied.status_code == 201, replied.text
        await _catch_up_rounds(kernel, 2)  # one whole round at least since the reply
        assert await _handled_seq(kernel, ticket["id"]) == 1  # the reply waits for the mail
        assert (await admin.post("/api/kernel/plugins/mail/enable")).status_code == 200

        await sink.wait_for(1)
        await anyio.sleep(SETTLE)
    [reply] = sink.received
    assert reply.get_content().strip() == "Here I am."


async def test_a_ticket_older_than_the_count_of_handled_messages_is_not_handled_again(
    mail_kernel, sink
):
    """Tickets from before `handled_seq` (NULL) start at their conversation's newest
    message: their history is not mailed or applied a second time."""
    async with mail_kernel(assignment="manual", csat_by_mail=False) as kernel:
        agent = await kernel.as_user(AGENT)
        admin = await kernel.as_user(admin=True)
        await send_mail(kernel.inbound_port, message_id="<old@customer.test>", text="Old")
        ticket = await one_more_ticket(agent, 0)
        url = f"/api/support/tickets/{ticket['id']}"
        await agent.post(f"{url}/reply", json={"text": "Old answer."})
        await sink.wait_for(1)
        await agent.post(f"{url}/status", json={"status": "resolved"})
        await _forget_handled(kernel)
        for action in ("disable", "enable"):  # a restart of support
            done = await admin.post(f"/api/kernel/plugins/support/{action}")
            assert done.status_code == 200, done.text
        await eventually(lambda: _handled_seq(kernel, ticket["id"]))
        await anyio.sleep(SETTLE)
        after = (await agent.get(url)).json()
        handled = await _handled_seq(kernel, ticket["id"])
    assert len(sink.received) == 1
    assert after["status"] == "resolved"
    assert handled == 2


async def _forget_handled(kernel) -> None:
    """Make every ticket look as it did before `handled_seq` existed."""
    from mindframe_plugins.support.models import tickets
    from mindframe_plugins.support.service import SupportService

    service = kernel.runtime.container.resolve(SupportService)
    await service.ctx.transaction(lambda s: s.execute(tickets.update().values(handled_seq=None)))


async def _handled_seq(kernel, ticket_id: int) -> int | None:
    from mindframe_plugins.support.service import SupportService

    service = kernel.runtime.container.resolve(SupportService)
    return (await service.ticket(ticket_id))["handled_seq"]


async def _catch_up_rounds(kernel, rounds: int) -> None:
    """Wait until support's `catch_up` job has finished `rounds` more runs."""
    from mindframe_plugins.support.service import SupportService

    job = kernel.runtime.container.resolve(SupportService).catch_up_job
    target = job.runs + rounds
    await eventually(lambda: _at_least(job, target))


async def _at_least(job, runs: int) -> bool:
    return job.runs >= runs


async def test_a_customer_message_heard_after_the_agent_moved_its_ticket_does_not_reopen_it(
    support_kernel,
):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari")
        ticket = await ticket_of(kernel, agent, await kari.start("hei"))
        [written] = [
            e for e in events(kernel, "chat.message.created") if e.author_kind == "visitor"
        ]
        url = f"/api/support/tickets/{ticket['id']}"
        pending = await agent.post(f"{url}/status", json={"status": "pending"})
        assert pending.status_code == 200, pending.text
        # the live event and the catch-up racing: the message is handled only now, after the
        # agent (who had read it) set the ticket to wait on the customer
        await kernel.runtime.container.resolve(SupportService).ctx.transaction(_not_handled)
        await kernel.runtime.bus.publish(written)
        handled = await eventually(lambda: _field(agent, url, "updated_at"), timeout=5.0)
        await eventually(lambda: _handled_again(kernel), timeout=5.0)
        after = (await agent.get(url)).json()
        newer = await kari.say(ticket["conversation_id"], "still broken")
        reopened = await eventually(lambda: _status_is(agent, url, "open"), timeout=5.0)
    assert handled and after["status"] == "pending"  # the old message did not reopen it
    assert newer and reopened  # a message written after the move does


async def _visitor_message(kernel):
    said = [e for e in events(kernel, "chat.message.created") if e.author_kind == "visitor"]
    return said[0] if said else None


def _not_handled(session) -> None:
    session.execute(update(tickets).values(handled_seq=None))


async def _handled_again(kernel) -> bool:
    def read(session) -> bool:
        return session.execute(select(tickets.c.handled_seq)).scalar() is not None

    return await kernel.runtime.container.resolve(SupportService).ctx.transaction(read)


async def _status_is(client, url: str, status: str) -> bool:
    return (await client.get(url)).json()["status"] == status
