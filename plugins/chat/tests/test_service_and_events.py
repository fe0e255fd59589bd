"""`ChatService` as other plugins use it (support, inbound mail), and the bus events."""

from __future__ import annotations

import pytest

from mindframe.sdk.chat import (
    Author,
    ChatError,
    ChatService,
    Contact,
    ConversationNotFound,
)

pytestmark = pytest.mark.anyio


async def test_an_email_conversation_is_opened_once_per_thread_and_posted_to(chat):
    kernel = chat.kernel
    service = kernel.runtime.container.resolve(ChatService)
    ada = Contact(email="ada@example.org", name="Ada", locale="nb")
    opened = await service.open_conversation(
        "email", contact=ada, subject="Faktura", external_ref="<m1@x>"
    )
    again = await service.open_conversation("email", contact=ada, external_ref="<m1@x>")
    assert again.id == opened.id and opened.channel == "email" and opened.locale == "nb"
    created = await kernel.bus_probe.next("chat.conversation.created")
    assert (created.conversation_id, created.channel, created.external_ref) == (
        opened.id,
        "email",
        "<m1@x>",
    )
    other = await service.open_conversation("email", contact=ada, external_ref="<m2@x>")
    assert other.visitor_id == opened.visitor_id  # the same contact, a new thread

    inbound = await service.post_message(opened.id, "Hei", author=Author.visitor(opened.visitor_id))
    reply = await service.post_message(opened.id, "Hei Ada", author=Author.agent("u1", "Per"))
    note = await service.post_message(opened.id, "Tildelt Per", author=Author.system())
    assert [m.seq for m in (inbound, reply, note)] == [1, 2, 3]
    event = await kernel.bus_probe.next("chat.message.created")
    assert (event.seq, event.channel, event.author_kind, event.text) == (
        1,
        "email",
        "visitor",
        "Hei",
    )
    messages = await service.messages(opened.id, after=1)
    assert [(m.seq, m.author.kind, m.author.name) for m in messages] == [
        (2, "agent", "Per"),
        (3, "system", None),
    ]
    assert (await service.conversation(opened.id)).last_seq == 3
    seqs = await service.last_seqs([opened.id, other.id, "nope"])
    assert seqs == {opened.id: 3, other.id: 0}  # the one that does not exist is left out


async def test_assign_unassign_and_close_publish_their_events(chat):
    kernel = chat.kernel
    service = kernel.runtime.container.resolve(ChatService)
    conversation = await service.open_conversation("email", contact=Contact(email="b@example.org"))
    assigned = await service.assign(conversation.id, "u1", by="u2")
    assert assigned.assignee_id == "u1"
    event = await kernel.bus_probe.next("chat.conversation.assigned")
    assert (event.agent_id, event.previous_agent_id, event.assigned_by) == ("u1", None, "u2")
    assert [c.id for c in await service.conversations(assignee_id="u1")] == [conversation.id]
    await service.assign(conversation.id, None)
    event = await kernel.bus_probe.next("chat.conversation.assigned")
    assert (event.agent_id, event.previous_agent_id) == (None, "u1")
    closed = await service.close(conversation.id, by="u1")
    assert closed.status == "closed" and closed.closed_at is not None
    event = await kernel.bus_probe.next("chat.conversation.closed")
    assert event.closed_by == "u1"
    with pytest.raises(ChatError) as refused:
        await service.post_message(conversation.id, "late", author=Author.system())
    assert refused.value.status == 409
    with pytest.raises(ConversationNotFound):
        await service.assign("nope", "u1")
    with pytest.raises(ConversationNotFound):
        await service.messages("nope")


async def test_agents_see_a_new_conversation_and_assignment_on_their_socket(chat):
    service = chat.kernel.runtime.container.resolve(ChatService)
    async with chat.socket(await chat.agent_headers()) as ws:
        agent = await chat.agent(ws)
        conversation = await service.open_conversation("email", contact=Contact(email="c@x.org"))
        frame = await agent.next("conversation")
        assert frame["event"] == "chat.conversation.created"
        assert frame["conversation"]["id"] == conversation.id
        await service.assign(conversation.id, agent.you["id"])
        frame = await agent.next("conversation")
        assert frame["event"] == "chat.conversation.assigned"
        assert frame["conversation"]["assignee_id"] == agent.you["id"]
