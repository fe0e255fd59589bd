"""The chat benchmark's anchor: a bare Litestar WebSocket broadcast, no persistence.

Not a benchmark itself; `benchmarks/chat.py` serves it with uvicorn. A client joins a room;
each message sent is numbered in memory and sent to every socket in the room, the sender too
(what a chat server does with nothing stored, no ids checked, nothing to resume from).
"""

from __future__ import annotations

import json

from litestar import Litestar, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect

rooms: dict[int, set[WebSocket]] = {}
numbers: dict[int, int] = {}


@websocket("/ws")
async def chat(socket: WebSocket) -> None:
    await socket.accept()
    room: int | None = None
    try:
        while True:
            frame = json.loads(await socket.receive_text())
            if frame["type"] == "join":
                room = int(frame["room"])
                rooms.setdefault(room, set()).add(socket)
            elif frame["type"] == "send" and room is not None:
                numbers[room] = numbers.get(room, 0) + 1
                text = json.dumps(
                    {"type": "message", "room": room, "seq": numbers[room], "text": frame["text"]}
                )
                for member in list(rooms[room]):
                    await member.send_text(text)
    except WebSocketDisconnect:
        pass
    finally:
        if room is not None:
            rooms.get(room, set()).discard(socket)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[chat, health], logging_config=None)
