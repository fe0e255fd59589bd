"""The chat benchmark's load: many WebSocket clients in one process, apart from the server.

Not a benchmark itself (the leading underscore keeps `benchmarks/run` from running it);
`benchmarks/chat.py` starts it. Clients are grouped in rooms of `--per-room` sockets: in each
room one sender sends a message, waits until its own copy comes back through the broadcast,
and sends the next; every socket in the room (the sender too) times each message from its
send to its arrival. `--protocol chat` speaks the chat plugin's frames (a visitor's token,
hello, join, send with client ids); `--protocol bare` the anchor's (join a room, send text).

Prints one JSON line: messages/s, latencies, per-message send times (for the reload
windows), sockets the server closed, and messages missing or repeated at any socket.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

decode = msgspec.json.decode
CONNECT = {"max_queue": None, "open_timeout": 60, "ping_interval": None, "compression": None}
"""No per-message deflate: chat frames are a few hundred bytes, where compressing costs both
servers more CPU than it saves bytes (and a zlib context per socket)."""


@dataclass
class Socket:
    ws: ClientConnection
    room: int
    seen: list[int] = field(default_factory=list)  # sequence numbers, in arrival order


@dataclass
class Tally:
    arrivals: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency)
    sent: list[tuple[float, int, int]] = field(default_factory=list)  # (wall time, room, seq)
    reconnects: int = 0
    closed_by_server: int = 0
    recording: bool = True
    closing: bool = False


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def post_json(url: str, body: dict | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def open_chat_room(http: str, ws_url: str, room: int, per_room: int) -> list[Socket]:
    token = (await asyncio.to_thread(post_json, f"{http}/api/chat/visitors"))["token"]
    conversation = await asyncio.to_thread(
        post_json, f"{http}/api/chat/conversations", None, {"X-Visitor-Token": token}
    )
    sockets = []
    for _ in range(per_room):
        ws = await connect(ws_url, **CONNECT)
        await ws.send(json.dumps({"type": "hello", "visitor_token": token}))
        await ws.send(json.dumps({"type": "join", "conversation_id": conversation["id"]}))
        sockets.append(Socket(ws, room))
    sockets[0].conversation = conversation["id"]  # type: ignore[attr-defined]
    return sockets


async def open_bare_room(ws_url: str, room: int, per_room: int) -> list[Socket]:
    sockets = []
    for _ in range(per_room):
        ws = await connect(ws_url, **CONNECT)
        await ws.send(json.dumps({"type": "join", "room": room}))
        sockets.append(Socket(ws, room))
    return sockets


async def run(args: argparse.Namespace) -> dict:
    raise_fd_limit()
    rooms = args.clients // args.per_room
    chat = args.protocol == "chat"
    ws_url = args.url.replace("http://", "ws://") + ("/api/chat/ws" if chat else "/ws")
    tally = Tally()
    all_rooms: list[list[Socket]] = []
    for start in range(0, rooms, 50):  # connect in waves, so the listen backlog keeps up
        batch = [
            open_chat_room(args.url, ws_url, r, args.per_room)
            if chat
            else open_bare_room(ws_url, r, args.per_room)
            for r in range(start, min(start + 50, rooms))
        ]
        all_rooms.extend(await asyncio.gather(*batch))
    echoes: dict[int, asyncio.Queue[int]] = {r: asyncio.Queue() for r in range(rooms)}

    async def listen(sock: Socket, sender: bool) -> None:
        try:
            async for raw in sock.ws:
                frame = decode(raw)
                if frame.get("type") != "message":
                    continue
                seq = frame["seq"]
                text = frame["text"]
                sent_at = float(text.split(" ", 1)[0])
                if tally.recording:
                    tally.arrivals.append((sent_at, time.time() - sent_at))
                sock.seen.append(seq)
                if sender:
                    echoes[sock.room].put_nowait(seq)
        except ConnectionClosed:
            pass
        if not tally.closing:  # the server closed it (or the connection broke)
            tally.closed_by_server += 1

    listeners = [
        asyncio.create_task(listen(sock, index == 0))
        for room in all_rooms
        for index, sock in enumerate(room)
    ]
    await asyncio.sleep(0.5)  # joins answered (replays of nothing) before the clock starts
    deadline = time.perf_counter() + args.seconds
    if args.started_file:  # tells whoever waits (the reloads) that messages flow now
        Path(args.started_file).write_text(str(time.time()))
    stop_file = Path(args.stop_file) if args.stop_file else None
    sent_counts = [0] * rooms

    async def send_loop(room: list[Socket]) -> None:
        sender = room[0]
        n = 0
        while time.perf_counter() < deadline and not (stop_file and stop_file.exists()):
            n += 1
            text = f"{time.time():.6f} room {sender.room} message {n}"
            if chat:
                frame = {
                    "type": "send",
                    "text": text,
                    "client_id": f"r{sender.room}m{n}",
                    "conversation_id": sender.conversation,  # type: ignore[attr-defined]
                }
            else:
                frame = {"type": "send", "text": text}
            wall = float(text.split(" ", 1)[0])
            try:
                await sender.ws.send(json.dumps(frame))
                seq = await asyncio.wait_for(echoes[sender.room].get(), 60)
            except (ConnectionClosed, TimeoutError):
                return
            tally.sent.append((wall, sender.room, seq))
            sent_counts[sender.room] += 1

    started = time.perf_counter()
    await asyncio.gather(*(send_loop(room) for room in all_rooms))
    elapsed = time.perf_counter() - started
    tally.recording = False
    # every socket should now hold every message of its room once, in order: wait (bounded)
    expected = {
        r: max((s for _, room, s in tally.sent if room == r), default=0) for r in range(rooms)
    }
    settle = time.perf_counter() + 30
    while time.perf_counter() < settle:
        if all(len(sock.seen) >= expected[sock.room] for room in all_rooms for sock in room):
            break
        await asyncio.sleep(0.1)
    missing = repeated = out_of_order = 0
    for room in all_rooms:
        for sock in room:
            seen = sock.seen
            repeated += len(seen) - len(set(seen))
            missing += len(set(range(1, expected[sock.room] + 1)) - set(seen))
            out_of_order += sum(1 for a, b in itertools.pairwise(seen) if b <= a)
    tally.closing = True
    for room in all_rooms:
        for sock in room:
            await sock.ws.close()
    for task in listeners:
        task.cancel()
    messages = sum(sent_counts)
    return {
        "protocol": args.protocol,
        "clients": rooms * args.per_room,
        "rooms": rooms,
        "seconds": elapsed,
        "messages": messages,
        "messages_per_s": messages / elapsed,
        "deliveries_per_s": len(tally.arrivals) / elapsed,
        "arrivals": tally.arrivals,
        "sent": tally.sent,
        "closed_by_server": tally.closed_by_server,
        "missing": missing,
        "repeated": repeated,
        "out_of_order": out_of_order,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--protocol", choices=["chat", "bare"], required=True)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--per-room", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--started-file", help="written when the first messages are sent")
    parser.add_argument("--stop-file", help="stop sending once this file exists")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
