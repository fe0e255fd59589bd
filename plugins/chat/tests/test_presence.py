"""Presence: an agent is online while heard from, away when they say so, offline when they
leave or when a dropped connection is not heard from within the timeout (a singleton job);
visitors see whether anyone is online."""

from __future__ import annotations

import pytest

from mindframe.sdk.chat import ChatService

pytestmark = pytest.mark.anyio


async def next_presence(kernel, status: str):
    while True:
        event = await kernel.bus_probe.next("chat.agent.presence", timeout=10)
        if event.status == status:
            return event


async def test_agents_online_away_offline_and_what_visitors_see(chat):
    kernel = chat.kernel
    assert (await kernel.client.get("/api/chat/presence")).json() == {"online": False, "agents": 0}
    async with chat.socket() as visitor_ws:
        visitor = await chat.hello(visitor_ws, await chat.visitor_token())
        assert next(f for f in visitor.seen if f["type"] == "welcome")["agents_online"] is False
        async with chat.socket(await chat.agent_headers()) as agent_ws:
            agent = await chat.agent(agent_ws)
            online = await next_presence(kernel, "online")
            assert (online.agent_id, online.previous) == (agent.you["id"], "offline")
            assert (await visitor.next("presence"))["agents_online"] is True
            presence = (await kernel.client.get("/api/chat/presence")).json()
            assert presence == {"online": True, "agents": 1}
            await agent.send(type="presence", status="away")
            away = await next_presence(kernel, "away")
            assert away.previous == "online"
            assert (await visitor.next("presence"))["agents_online"] is False
            await agent.send(type="presence", status="online")
            await next_presence(kernel, "online")
            assert (await visitor.next("presence"))["agents_online"] is True
        gone = await next_presence(kernel, "offline")  # left: offline at once
        assert gone.agent_id == agent.you["id"]
        assert (await visitor.next("presence"))["agents_online"] is False
    present = await chat.kernel.runtime.container.resolve(ChatService).agents_present()
    assert present == []


async def test_a_dropped_agent_goes_offline_after_the_timeout(start_chat):
    async with start_chat(presence_timeout=1.0, heartbeat_seconds=0.2) as chat:
        kernel = chat.kernel
        async with chat.socket(await chat.agent_headers()) as agent_ws:
            agent = await chat.agent(agent_ws)
            await next_presence(kernel, "online")
            await agent.send(type="ping")
            await agent.next("pong")
            # the connection stays open but says nothing more, like a laptop whose lid closed
            dropped = await next_presence(kernel, "offline")
            assert dropped.agent_id == agent.you["id"] and dropped.previous == "online"
