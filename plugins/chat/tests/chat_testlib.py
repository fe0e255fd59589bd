"""Helpers of the chat tests: visitors and agents on real sockets, frames awaited by type."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 10
_ids = itertools.count(1)


def client_id() -> str:
    return f"c{next(_ids)}"


@dataclass
class Peer:
    """One socket: frames it received are kept, and `next(type)` waits for the next of a type."""

    ws: ClientConnection
    you: dict[str, Any] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        with anyio.fail_after(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                self.seen.append(frame)
                if frame["type"] == kind:
                    return frame

    async def messages(self, count: int) -> list[dict[str, Any]]:
        return [await self.next("message") for _ in range(count)]

    async def say(self, text: str, conversation_id: str | None, cid: str | None = None) -> dict:
        cid = cid or client_id()
        await self.send(type="send", text=text, client_id=cid, conversation_id=conversation_id)
        return await self.next("ack")


@dataclass
class Chat:
    kernel: Any
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/chat/ws"

    async def visitor_token(self) -> str:
        response = await self.kernel.client.post("/api/chat/visitors", json={"name": "Vera"})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    async def agent_headers(self, username: str = "agent", permissions=("chat.agent",)) -> dict:
        client = await self.kernel.as_user(list(permissions), username=username)
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)}

    def socket(self, headers: dict | None = None, **options: Any):
        return connect(self.ws_url, additional_headers=headers or {}, **options)

    async def hello(self, ws: ClientConnection, token: str | None) -> Peer:
        peer = Peer(ws)
        await peer.send(type="hello", visitor_token=token)
        peer.you = (await peer.next("welcome"))["you"]
        return peer

    async def agent(self, ws: ClientConnection) -> Peer:
        peer = Peer(ws)
        peer.you = (await peer.next("welcome"))["you"]
        return peer
