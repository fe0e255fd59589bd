"""Reloading `chat` while people talk: no socket closes, every message is delivered once and
in order, and the new version is the one answering."""

from __future__ import annotations

import anyio
import pytest

pytestmark = pytest.mark.anyio
RELOADS = 5
MESSAGES = 40


async def test_sockets_stay_open_and_keep_working_through_reloads_of_chat(chat):
    kernel = chat.kernel
    endpoint = kernel.runtime.dispatcher.sockets.find("/api/chat/ws")
    tokens = [await chat.visitor_token() for _ in range(3)]
    async with (
        chat.socket(await chat.agent_headers()) as agent_ws,
        chat.socket() as ws0,
        chat.socket() as ws1,
        chat.socket() as ws2,
    ):
        agent = await chat.agent(agent_ws)
        visitors = [await chat.hello(ws, t) for ws, t in zip((ws0, ws1, ws2), tokens, strict=True)]
        conversations = [(await v.say("start", None))["conversation_id"] for v in visitors]
        for conversation_id in conversations:
            await agent.send(type="join", conversation_id=conversation_id, after=0)
        admin = await kernel.as_user(admin=True, username="root")
        handlers = [endpoint.handler]  # held, so no two can share an id
        reloaded = anyio.Event()

        async def talk(visitor, conversation_id) -> None:
            for n in range(MESSAGES):
                ack = await visitor.say(f"m{n}", conversation_id)
                assert ack["seq"] == n + 2
                await anyio.sleep(0)

        async def reload_repeatedly() -> None:
            for _ in range(RELOADS):
                response = await admin.post("/api/kernel/plugins/chat/reload")
                assert response.status_code == 200 and response.json()["ok"], response.text
                handlers.append(endpoint.handler)
            reloaded.set()

        async with anyio.create_task_group() as group:
            group.start_soon(reload_repeatedly)
            for visitor, conversation_id in zip(visitors, conversations, strict=True):
                group.start_soon(talk, visitor, conversation_id)
        distinct = {id(handler) for handler in handlers}
        assert reloaded.is_set() and len(distinct) == RELOADS + 1  # new code took over each time
        by_conversation: dict[str, list[int]] = {c: [] for c in conversations}
        for message in await agent.messages(3 * (MESSAGES + 1)):
            by_conversation[message["conversation_id"]].append(message["seq"])
        for seqs in by_conversation.values():
            assert seqs == list(range(1, MESSAGES + 2))  # each once, in order, none missing
        after = await visitors[0].say("after the reloads", conversations[0])
        assert (await agent.next("message"))["seq"] == after["seq"]
        for ws in (agent_ws, ws0, ws1, ws2):
            assert ws.close_code is None
    assert endpoint is kernel.runtime.dispatcher.sockets.find("/api/chat/ws")
