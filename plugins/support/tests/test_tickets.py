"""Tickets: every conversation becomes one, with a status, priority, labels and SLA
deadlines; the workflow's moves are enforced and announced; agents filter them."""

from __future__ import annotations

from datetime import datetime

import pytest
from support_testlib import AGENT, eventually, ticket_of, user_id, visitor

pytestmark = pytest.mark.anyio


async def test_a_visitors_conversation_becomes_an_open_ticket_with_deadlines(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari", "nb")
        conversation_id = await kari.start("Hei, pakken min har ikke kommet")
        ticket = await ticket_of(kernel, agent, conversation_id)
        created = await kernel.bus_probe.next("support.ticket.created")
    assert (ticket["status"], ticket["priority"], ticket["channel"]) == ("open", "normal", "web")
    assert ticket["first_response_due"] is not None and ticket["resolution_due"] is not None
    assert (created.ticket_id, created.conversation_id) == (ticket["id"], conversation_id)


async def test_the_workflow_moves_a_ticket_and_announces_each_move(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start("My parcel has not arrived")
        ticket = await ticket_of(kernel, agent, conversation_id)
        url = f"/api/support/tickets/{ticket['id']}/status"
        for status in ("pending", "open", "resolved", "closed"):
            moved = await agent.post(url, json={"status": status})
            assert (moved.status_code, moved.json()["status"]) == (200, status)
        moves = [await kernel.bus_probe.next("support.ticket.status_changed") for _ in range(4)]
        refused = await agent.post(url, json={"status": "open"})
        closed = await kernel.bus_probe.next("chat.conversation.closed")
        late = await kari.client.post(
            f"/api/chat/conversations/{conversation_id}/messages",
            json={"text": "hello?"},
            headers=kari.headers,
        )
    assert [(m.previous, m.status) for m in moves] == [
        ("open", "pending"),
        ("pending", "open"),
        ("open", "resolved"),
        ("resolved", "closed"),
    ]
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == "a closed ticket cannot become open"
    assert closed.conversation_id == conversation_id  # closing the ticket closed the chat
    assert late.status_code >= 400


async def test_a_customer_writing_again_reopens_a_pending_or_resolved_ticket(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start("Where is my order?")
        ticket = await ticket_of(kernel, agent, conversation_id)
        url = f"/api/support/tickets/{ticket['id']}"
        for waiting in ("pending", "resolved"):
            await agent.post(f"{url}/status", json={"status": waiting})
            await kari.say(conversation_id, "Still nothing")

            async def reopened() -> bool:
                return (await agent.get(url)).json()["status"] == "open"

            await eventually(reopened)


async def test_closing_the_conversation_in_chat_closes_the_ticket(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        kari = await visitor(kernel, "Kari")
        conversation_id = await kari.start("Never mind")
        ticket = await ticket_of(kernel, agent, conversation_id)
        closing = await agent.post(f"/api/chat/conversations/{conversation_id}/close")
        assert closing.status_code in (200, 201), closing.text

        async def closed() -> bool:
            return (await agent.get(f"/api/support/tickets/{ticket['id']}")).json()["status"] == (
                "closed"
            )

        await eventually(closed)
        moved = await kernel.bus_probe.next("support.ticket.status_changed")
    assert (moved.previous, moved.status) == ("open", "closed")


async def test_a_new_priority_moves_the_deadlines_from_the_tickets_opening(support_kernel):
    minutes = {"urgent": 10.0, "normal": 100.0}
    async with support_kernel(
        assignment="manual", first_response_minutes=minutes, resolution_minutes=minutes
    ) as kernel:
        agent = await kernel.as_user(AGENT)
        conversation_id = await (await visitor(kernel)).start("Down!")
        ticket = await ticket_of(kernel, agent, conversation_id)
        changed = await agent.patch(
            f"/api/support/tickets/{ticket['id']}",
            json={"priority": "urgent", "labels": ["outage", "billing", "outage"]},
        )
    opened = datetime.fromisoformat(ticket["created_at"])
    due = datetime.fromisoformat(changed.json()["first_response_due"])
    assert changed.json()["priority"] == "urgent"
    assert changed.json()["labels"] == ["billing", "outage"]
    assert round((due - opened).total_seconds()) == 600
    assert (
        round((datetime.fromisoformat(ticket["first_response_due"]) - opened).total_seconds())
        == 6000
    )


async def test_agents_filter_tickets_by_status_priority_label_assignee_and_text(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT)
        ids = {}
        for name, text in (("Kari", "Refund please"), ("Ola", "Login broken"), ("Per", "Hi")):
            conversation_id = await (await visitor(kernel, name)).start(text)
            ids[name] = (await ticket_of(kernel, agent, conversation_id))["id"]
        await agent.patch(f"/api/support/tickets/{ids['Kari']}", json={"labels": ["refund"]})
        await agent.patch(f"/api/support/tickets/{ids['Ola']}", json={"priority": "high"})
        await agent.post(f"/api/support/tickets/{ids['Per']}/status", json={"status": "pending"})
        await agent.post(f"/api/support/tickets/{ids['Ola']}/take")

        async def found(**params: str) -> list[int]:
            answer = await agent.get("/api/support/tickets", params=params)
            assert answer.status_code == 200, answer.text
            return sorted(t["id"] for t in answer.json())

        assert await found(label="refund") == [ids["Kari"]]
        assert await found(priority="high") == [ids["Ola"]]
        assert await found(status="pending") == [ids["Per"]]
        assert await found(assignee="me") == [ids["Ola"]]
        assert await found(assignee="none") == sorted([ids["Kari"], ids["Per"]])
        assert await found(status="open", assignee="none") == [ids["Kari"]]
        assert await found() == sorted(ids.values())


async def test_the_first_agent_reply_is_the_first_response_and_later_ones_do_not_move_it(
    support_kernel,
):
    async with support_kernel(assignment="manual") as kernel:
        agent = await kernel.as_user(AGENT, username="ada")
        conversation_id = await (await visitor(kernel, "Kari")).start("Hello")
        ticket = await ticket_of(kernel, agent, conversation_id)
        url = f"/api/support/tickets/{ticket['id']}"
        assert (await agent.post(f"{url}/reply", json={"text": "Hi!"})).status_code == 201

        async def answered() -> dict | None:
            shown = (await agent.get(url)).json()
            return shown if shown["first_response_at"] else None

        first = await eventually(answered)
        await agent.post(f"{url}/reply", json={"text": "Anything else?"})
        await kernel.bus_probe.next("chat.message.created")  # the visitor's
        await kernel.bus_probe.next("chat.message.created")  # Hi!
        await kernel.bus_probe.next("chat.message.created")  # Anything else?
        again = (await agent.get(url)).json()
        ada = await user_id(agent)
    assert first["first_responder_id"] == ada
    assert again["first_response_at"] == first["first_response_at"]


async def test_tickets_need_support_permissions_and_refusals_are_problem_details(support_kernel):
    async with support_kernel(assignment="manual") as kernel:
        anonymous = await kernel.client.get("/api/support/tickets")
        outsider = await (await kernel.as_user()).get("/api/support/tickets")
        agent = await kernel.as_user(AGENT)
        assign = await agent.post("/api/support/tickets/1/assign", json={"agent_id": None})
        missing = await agent.get("/api/support/tickets/999")
    assert (anonymous.status_code, outsider.status_code, assign.status_code) == (401, 403, 403)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["detail"] == "there is no ticket 999"
