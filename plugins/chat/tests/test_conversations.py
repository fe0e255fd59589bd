"""Conversations over real WebSockets: stored before acknowledged, delivered to every
participant with its number, resumed from a cursor without a gap or a duplicate; typing,
read receipts, bad frames, the same conversations over HTTP."""

from __future__ import annotations

import anyio
import pytest
from chat_testlib import TIMEOUT, client_id
from sqlalchemy import select

pytestmark = pytest.mark.anyio


async def test_a_visitors_first_message_opens_a_conversation_an_agent_receives(chat):
    token = await chat.visitor_token()
    async with chat.socket(await chat.agent_headers()) as agent_ws, chat.socket() as visitor_ws:
        agent = await chat.agent(agent_ws)
        assert agent.you["kind"] == "agent" and agent.you["name"] == "agent"
        visitor = await chat.hello(visitor_ws, token)
        ack = await visitor.say("Hei, <b>hjelp</b>!", None)
        conversation_id = ack["conversation_id"]
        assert ack["seq"] == 1
        created = await agent.next("conversation")
        assert created["conversation"]["id"] == conversation_id
        await agent.send(type="join", conversation_id=conversation_id, after=0)
        joined = await agent.next("joined")
        assert joined["conversation"]["visitor_id"] == visitor.you["id"]
        [message] = await agent.messages(1)
        assert (message["seq"], message["text"]) == (1, "Hei, <b>hjelp</b>!")  # as written
        assert message["author"]["kind"] == "visitor"
        reply = await agent.say("Hva kan jeg hjelpe med?", conversation_id)
        assert reply["seq"] == 2
        [own, answer] = await visitor.messages(2)
        assert (own["seq"], answer["seq"]) == (1, 2)
        assert answer["author"] == {"kind": "agent", "id": agent.you["id"], "name": "agent"}


async def test_a_message_is_stored_before_it_is_acknowledged(chat):
    from mindframe_plugins.chat.models import messages

    token = await chat.visitor_token()
    async with chat.socket() as ws:
        visitor = await chat.hello(ws, token)
        for n in range(20):
            cid = client_id()
            await visitor.send(type="send", text=f"m{n}", client_id=cid, conversation_id=None)
            ack = await visitor.next("ack")
            # read at once, bypassing the plugin: the row is there the moment the ack is
            async with chat.kernel.runtime.database.engine.connect() as connection:
                row = (
                    await connection.execute(select(messages).where(messages.c.client_id == cid))
                ).first()
            assert row is not None and row.seq == ack["seq"] == n + 1


async def test_a_resend_with_the_same_client_id_is_stored_once(chat):
    token = await chat.visitor_token()
    async with chat.socket() as ws:
        visitor = await chat.hello(ws, token)
        first = await visitor.say("once", None, "same-id")
        again = await visitor.say("once", first["conversation_id"], "same-id")
        assert again["seq"] == first["seq"] and again["id"] == first["id"]
        later = await visitor.say("next", first["conversation_id"])
        assert later["seq"] == first["seq"] + 1
    response = await chat.kernel.client.get(
        f"/api/chat/conversations/{first['conversation_id']}/messages",
        headers={"X-Visitor-Token": token},
    )
    assert [m["text"] for m in response.json()] == ["once", "next"]


async def test_a_client_that_drops_resumes_from_its_cursor_without_a_gap_or_a_duplicate(chat):
    token = await chat.visitor_token()
    headers = await chat.agent_headers()
    async with chat.socket() as visitor_ws:
        visitor = await chat.hello(visitor_ws, token)
        conversation_id = (await visitor.say("1", None))["conversation_id"]
        async with chat.socket(headers) as agent_ws:
            agent = await chat.agent(agent_ws)
            await agent.send(type="join", conversation_id=conversation_id, after=0)
            for n in range(2, 11):
                await visitor.say(str(n), conversation_id)
            received = await agent.messages(4)
            cursor = received[-1]["seq"]
            agent_ws.transport.abort()  # dropped mid-conversation, no closing handshake
        for n in range(11, 31):  # the conversation goes on while the agent is away
            await visitor.say(str(n), conversation_id)
        async with chat.socket(headers) as agent_ws:
            agent = await chat.agent(agent_ws)
            await agent.send(type="join", conversation_id=conversation_id, after=cursor)
            resumed = await agent.messages(30 - cursor)
            await visitor.say("31", conversation_id)
            [live] = await agent.messages(1)
    seqs = [m["seq"] for m in received] + [m["seq"] for m in resumed] + [live["seq"]]
    assert seqs == list(range(1, 32))
    assert [m["text"] for m in resumed] == [str(n) for n in range(cursor + 1, 31)]
    assert not [f for f in agent.seen if f["type"] == "message" and f["seq"] <= cursor]


async def test_two_visitors_never_see_each_others_conversations(chat):
    one, other = await chat.visitor_token(), await chat.visitor_token()
    async with chat.socket() as ws_one, chat.socket() as ws_other:
        first = await chat.hello(ws_one, one)
        second = await chat.hello(ws_other, other)
        conversation_id = (await first.say("private", None))["conversation_id"]
        await second.send(type="join", conversation_id=conversation_id, after=0)
        error = await second.next("error")
        assert error["problem"]["status"] == 404
        await second.send(type="send", text="x", client_id="x", conversation_id=conversation_id)
        assert (await second.next("error"))["ref"] == "x"
    forbidden = await chat.kernel.client.get(
        f"/api/chat/conversations/{conversation_id}/messages", headers={"X-Visitor-Token": other}
    )
    assert forbidden.status_code == 404
    assert forbidden.headers["content-type"].startswith("application/problem+json")


async def test_bad_frames_get_an_error_frame_and_harm_nothing_else(chat):
    token = await chat.visitor_token()
    async with chat.socket() as ws, chat.socket() as bystander_ws:
        peer = await chat.hello(ws, token)
        bystander = await chat.hello(bystander_ws, await chat.visitor_token())
        conversation_id = (await peer.say("before", None))["conversation_id"]
        for bad in ["not json", "[]", '{"type": "shout"}', '{"type": "send", "text": 5}', b"\x00"]:
            await ws.send(bad)
            error = await peer.next("error")
            assert error["problem"]["status"] == 400 and error["problem"]["detail"]
        await peer.send(type="send", text="   ", client_id="blank", conversation_id=conversation_id)
        assert (await peer.next("error"))["ref"] == "blank"
        long = "x" * 4001
        await peer.send(type="send", text=long, client_id="long", conversation_id=conversation_id)
        assert "4000" in (await peer.next("error"))["problem"]["detail"]
        assert (await peer.say("after", conversation_id))["seq"] == 2
        assert (await bystander.say("unharmed", None))["seq"] == 1


async def test_refusals_speak_the_visitors_language(chat):
    async with chat.socket({"Accept-Language": "nb-NO,nb;q=0.9"}) as ws:
        peer = await chat.hello(ws, await chat.visitor_token())
        await peer.send(type="send", text=" ", client_id="x", conversation_id=None)
        assert (await peer.next("error"))["problem"]["detail"] == "en melding trenger litt tekst"


async def test_typing_shows_to_the_others_and_expires_by_itself(start_chat):
    async with start_chat(typing_seconds=0.5) as chat:
        token = await chat.visitor_token()
        async with chat.socket(await chat.agent_headers()) as agent_ws, chat.socket() as ws:
            agent = await chat.agent(agent_ws)
            visitor = await chat.hello(ws, token)
            conversation_id = (await visitor.say("hi", None))["conversation_id"]
            await agent.send(type="join", conversation_id=conversation_id, after=1)
            await agent.next("joined")
            await visitor.send(type="typing", conversation_id=conversation_id, typing=True)
            started = await agent.next("typing")
            assert started["typing"] is True and started["author"]["id"] == visitor.you["id"]
            assert started["expires_in"] == 0.5
            stopped = await agent.next("typing", timeout=3)  # nobody said stop: it expired
            assert stopped["typing"] is False and stopped["author"]["id"] == visitor.you["id"]
            assert not [f for f in visitor.seen if f["type"] == "typing"]  # not to oneself


async def test_read_receipts_are_kept_per_participant_and_shown_to_the_others(chat):
    token = await chat.visitor_token()
    async with chat.socket(await chat.agent_headers()) as agent_ws, chat.socket() as ws:
        agent = await chat.agent(agent_ws)
        visitor = await chat.hello(ws, token)
        conversation_id = (await visitor.say("one", None))["conversation_id"]
        await visitor.say("two", conversation_id)
        await agent.send(type="join", conversation_id=conversation_id, after=0)
        await agent.messages(2)
        await agent.send(type="read", conversation_id=conversation_id, seq=2)
        receipt = await visitor.next("read")
        assert receipt["reader"]["kind"] == "agent" and receipt["seq"] == 2
        await agent.send(type="read", conversation_id=conversation_id, seq=1)  # never back
        assert (await visitor.next("read"))["seq"] == 2
        await agent.send(type="read", conversation_id=conversation_id, seq=99)  # nor past the end
        assert (await visitor.next("read"))["seq"] == 2
    async with chat.socket() as ws:
        visitor = await chat.hello(ws, token)
        await visitor.send(type="join", conversation_id=conversation_id, after=2)
        reads = (await visitor.next("joined"))["reads"]
    assert reads == [{"kind": "agent", "id": agent.you["id"], "seq": 2}]


async def test_the_same_conversation_over_plain_http(chat):
    token = await chat.visitor_token()
    auth = {"X-Visitor-Token": token}
    client = chat.kernel.client
    opened = await client.post("/api/chat/conversations", headers=auth)
    assert opened.status_code == 201
    conversation_id = opened.json()["id"]
    url = f"/api/chat/conversations/{conversation_id}/messages"
    async with chat.socket() as ws:
        visitor = await chat.hello(ws, token)
        await visitor.send(type="join", conversation_id=conversation_id, after=0)
        await visitor.next("joined")
        sent = await client.post(url, json={"text": "over http", "client_id": "h1"}, headers=auth)
        assert sent.status_code == 201 and sent.json()["seq"] == 1
        [live] = await visitor.messages(1)
        assert live["text"] == "over http" and live["client_id"] == "h1"
        await visitor.say("over the socket", conversation_id)
    again = await client.post(url, json={"text": "over http", "client_id": "h1"}, headers=auth)
    assert again.json()["id"] == sent.json()["id"]
    after_one = (await client.get(f"{url}?after=1", headers=auth)).json()
    assert [(m["seq"], m["text"]) for m in after_one] == [(2, "over the socket")]
    assert (await client.get(url)).status_code == 401
    empty = await client.post(url, json={"text": ""}, headers=auth)
    assert empty.status_code == 400 and empty.json()["detail"] == "a message needs some text"


async def test_a_cookie_sent_from_another_site_does_not_make_an_agent(chat):
    headers = {**(await chat.agent_headers()), "Origin": "https://evil.example"}
    async with chat.socket(headers) as ws:
        peer = await chat.hello(ws, await chat.visitor_token())
        assert peer.you["kind"] == "visitor"  # the cookie was not honoured
    async with chat.socket({**headers, "Origin": chat.url}) as ws:
        assert (await chat.agent(ws)).you["kind"] == "agent"


async def test_a_user_without_chat_agent_is_no_agent(chat):
    async with chat.socket(await chat.agent_headers("nobody", permissions=())) as ws:
        peer = await chat.hello(ws, None)  # a new visitor, token in the welcome
        assert peer.you["kind"] == "visitor"
        welcome = next(f for f in peer.seen if f["type"] == "welcome")
        assert welcome["visitor_token"]


async def test_a_wrong_visitor_token_closes_with_4401(chat):
    from websockets.exceptions import ConnectionClosed

    async with chat.socket() as ws:
        await ws.send('{"type": "hello", "visitor_token": "forged"}')
        with anyio.fail_after(TIMEOUT), pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401


async def test_an_agent_connects_with_an_api_token_and_a_wrong_one_is_refused(chat):
    from websockets.exceptions import ConnectionClosed

    client = await chat.kernel.as_user(["chat.agent", "auth.tokens.create"], username="bot")
    made = await client.post("/api/auth/tokens", json={"name": "bot", "scopes": ["chat.*"]})
    assert made.status_code == 201, made.text
    async with chat.socket({"Authorization": f"Bearer {made.json()['secret']}"}) as ws:
        me = (await client.get("/api/auth/me")).json()
        assert (await chat.agent(ws)).you == {"kind": "agent", "id": me["id"], "name": "bot"}
    async with chat.socket({"Authorization": "Bearer not-a-token"}) as ws:
        with anyio.fail_after(TIMEOUT), pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4401
    assert "unknown or revoked" in closed.value.rcvd.reason


async def test_the_in_process_websocket_client_reaches_the_kernels_socket_too(chat):
    """`kernel.websocket` (ASGI messages in the test's own loop, no port) drives the same
    kernel-held endpoint as a real client does."""
    token = await chat.visitor_token()
    async with chat.kernel.websocket("/api/chat/ws") as ws:
        await ws.send_json({"type": "hello", "visitor_token": token})
        welcome = await ws.receive_json()
        assert welcome["type"] == "welcome" and welcome["you"]["kind"] == "visitor"
        await ws.send_json({"type": "send", "text": "in process", "client_id": "p1"})
        kinds = [(await ws.receive_json())["type"] for _ in range(3)]
        assert sorted(kinds) == ["ack", "joined", "message"]
