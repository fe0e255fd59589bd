"""E-mail tickets through real SMTP: mail sent with smtplib to the mail plugin's inbound
listener opens a ticket; the agent's reply arrives in a real aiosmtpd mailbox threaded on
the customer's message (In-Reply-To, References); the customer's answer to it continues
the same ticket; the rating request on resolution stays in the thread; mail to a team's
address lands in its queue; mail to a closed ticket's thread opens a new one."""

from __future__ import annotations

import pytest
from support_testlib import (
    AGENT,
    MANAGER,
    conversation_texts,
    email_tickets,
    eventually,
    one_more_ticket,
    send_mail,
)

pytestmark = pytest.mark.anyio


async def test_mail_opens_a_ticket_and_the_agents_reply_goes_back_threaded(mail_kernel, sink):
    async with mail_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        port = kernel.inbound_port
        await send_mail(port, message_id="<first@customer.test>", text="Where is my parcel?")
        ticket = await one_more_ticket(agent, 0)
        assert (ticket["customer_email"], ticket["customer_name"]) == (
            "kari@customer.test",
            "Kari Nordmann",
        )
        assert ticket["subject"] == "Order 42 has not arrived"
        assert await eventually(lambda: conversation_texts(agent, ticket)) == [
            "Where is my parcel?"
        ]

        url = f"/api/support/tickets/{ticket['id']}"
        assert (
            await agent.post(f"{url}/reply", json={"text": "It ships today."})
        ).status_code == 201
        await sink.wait_for(1)
        [reply] = sink.received
        assert reply["To"] == "kari@customer.test"
        assert reply["Subject"] == "Re: Order 42 has not arrived"
        assert reply["In-Reply-To"] == "<first@customer.test>"
        assert reply["References"].split() == ["<first@customer.test>"]
        assert reply.get_content().strip() == "It ships today."

        await send_mail(
            port,
            message_id="<second@customer.test>",
            text="Thanks! And the invoice?",
            subject="Re: Order 42 has not arrived",
            in_reply_to=str(reply["Message-ID"]),
            references=["<first@customer.test>", str(reply["Message-ID"])],
        )

        async def continued() -> list[str] | None:
            texts = await conversation_texts(agent, ticket)
            return texts if len(texts) == 3 else None

        texts = await eventually(continued)
        assert texts[-1] == "Thanks! And the invoice?"
        assert [t["id"] for t in await email_tickets(agent)] == [ticket["id"]]  # no new ticket

        await agent.post(f"{url}/reply", json={"text": "Attached."})
        await sink.wait_for(2)
        second_reply = sink.received[1]
        assert second_reply["In-Reply-To"] == "<second@customer.test>"
        assert second_reply["References"].split() == [
            "<first@customer.test>",
            str(reply["Message-ID"]),
            "<second@customer.test>",
        ]


async def test_the_rating_request_of_an_email_ticket_is_mailed_in_its_thread(mail_kernel, sink):
    async with mail_kernel(assignment="manual", public_url="https://help.example") as kernel:
        agent = await kernel.as_user(AGENT)
        await send_mail(kernel.inbound_port, message_id="<q@customer.test>", text="Broken")
        ticket = await one_more_ticket(agent, 0)
        resolved = await agent.post(
            f"/api/support/tickets/{ticket['id']}/status", json={"status": "resolved"}
        )
        assert resolved.status_code == 200
        await sink.wait_for(1)
        [request] = sink.received
        body = request.get_content()
        link = next(word for word in body.split() if "/support/csat/" in word)
        token = link.rsplit("/", 1)[1]
        rated = await kernel.client.post(f"/api/support/csat/{token}", json={"score": 5})
    assert request["To"] == "kari@customer.test"
    assert request["In-Reply-To"] == "<q@customer.test>"
    assert request["Subject"] == f"How did we do? Ticket {ticket['id']}"
    assert link.startswith("https://help.example/support/csat/")
    assert rated.status_code == 201


async def test_mail_to_a_teams_address_lands_in_its_queue(mail_kernel):
    async with mail_kernel(assignment="manual") as kernel:
        manager = await kernel.as_user(MANAGER)
        team = await manager.post(
            "/api/support/teams", json={"name": "Billing", "mail_address": "Billing@mindframe.test"}
        )
        assert team.status_code == 201, team.text
        await send_mail(
            kernel.inbound_port,
            message_id="<bill@customer.test>",
            text="Double charged",
            to="billing@mindframe.test",
        )
        ticket = await one_more_ticket(manager, 0)
    assert ticket["team_id"] == team.json()["id"]


async def test_mail_in_a_closed_tickets_thread_opens_a_new_ticket(mail_kernel):
    async with mail_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        port = kernel.inbound_port
        await send_mail(port, message_id="<old@customer.test>", text="First")
        old = await one_more_ticket(agent, 0)
        await agent.post(f"/api/support/tickets/{old['id']}/status", json={"status": "closed"})
        await send_mail(
            port,
            message_id="<new@customer.test>",
            text="Again",
            in_reply_to="<old@customer.test>",
            references=["<old@customer.test>"],
        )
        new = await one_more_ticket(agent, 1)
        created = [await kernel.bus_probe.next("support.ticket.created") for _ in range(2)]
    assert new["id"] != old["id"] and new["status"] == "open"
    assert [event.ticket_id for event in created] == [old["id"], new["id"]]


async def test_the_same_mail_delivered_twice_is_filed_once(mail_kernel):
    async with mail_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        for _ in range(2):
            await send_mail(kernel.inbound_port, message_id="<dup@customer.test>", text="Once")
        ticket = await one_more_ticket(agent, 0)
        await kernel.bus_probe.next("mail.received")
        await kernel.bus_probe.next("mail.received")

        async def filed() -> list[str] | None:
            texts = await conversation_texts(agent, ticket)
            return texts or None

        texts = await eventually(filed)
        tickets = await email_tickets(agent)
    assert texts == ["Once"] and len(tickets) == 1
