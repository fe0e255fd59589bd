"""GDPR: a visitor's or a user's conversations are exported, then erased, safely twice."""

from __future__ import annotations

import pytest

from mindframe.sdk import PluginHooks, Subject
from mindframe.sdk.chat import Author, ChatService, Contact

pytestmark = pytest.mark.anyio


async def chat_outcomes(hooks: PluginHooks, hook: str, subject: Subject) -> list:
    return [o for o in await hooks.call_each(hook, subject=subject) if o.plugin == "chat"]


async def test_a_visitor_exports_and_erases_their_own_conversations(chat):
    client = chat.kernel.client
    token = await chat.visitor_token()
    async with chat.socket() as ws:
        visitor = await chat.hello(ws, token)
        await visitor.say("my secret", None)
    auth = {"X-Visitor-Token": token}
    exported = (await client.get("/api/chat/visitors/me/export", headers=auth)).json()
    [me] = exported["visitors"]
    assert "token_digest" not in me
    assert [m["text"] for m in me["conversations"][0]["messages"]] == ["my secret"]
    assert (await client.delete("/api/chat/visitors/me", headers=auth)).status_code == 204
    assert (await client.get("/api/chat/visitors/me/export", headers=auth)).status_code == 401


async def test_a_users_conversations_and_messages_are_exported_then_erased(chat):
    kernel = chat.kernel
    service = kernel.runtime.container.resolve(ChatService)
    ada = Subject("u-ada", username="ada", email="ada@example.org")
    theirs = await service.open_conversation("email", contact=Contact(email="ada@example.org"))
    await service.post_message(theirs.id, "from Ada", author=Author.visitor(theirs.visitor_id))
    other = await service.open_conversation("email", contact=Contact(email="bo@example.org"))
    await service.post_message(other.id, "Ada answers", author=Author.agent("u-ada", "Ada"))
    await service.assign(other.id, "u-ada")
    hooks = kernel.runtime.container.resolve(PluginHooks)
    [exported] = [
        o for o in await hooks.call_each("export_personal_data", subject=ada) if o.plugin == "chat"
    ]
    data = exported.result
    assert [c["id"] for c in data["visitors"][0]["conversations"]] == [theirs.id]
    assert [m["text"] for m in data["written_as_agent"]] == ["Ada answers"]
    for _ in range(2):  # safe to repeat
        [erased] = await chat_outcomes(hooks, "erase_personal_data", ada)
        assert erased.error is None
    assert await service.conversation(theirs.id) is None
    [kept] = await service.messages(other.id)
    assert kept.text == "Ada answers" and kept.author.id is None and kept.author.name is None
    assert (await service.conversation(other.id)).assignee_id is None
    [after] = [
        o for o in await hooks.call_each("export_personal_data", subject=ada) if o.plugin == "chat"
    ]
    assert after.result["visitors"] == [] and after.result["written_as_agent"] == []
