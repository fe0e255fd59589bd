"""The wire between the kernel and a sandboxed plugin's child process.

Length-prefixed msgpack frames (msgspec) over one AF_UNIX socket pair. Messages are tagged
array-like structs: the hot path (an HTTP request and its response) is two frames, each
a handful of bytes of framing, and no HTTP is parsed twice.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import msgspec

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
WINDOW = 16
"""Body chunks either side may have in flight per request before waiting for an ack."""

Headers = list[tuple[bytes, bytes]]


class Msg(msgspec.Struct, array_like=True, tag=True, kw_only=True):
    """Base of every frame."""


# --- start, liveness, stop --------------------------------------------------------------


class Hello(Msg, tag="hello"):
    """The first frame to the child: what to load and the rules it lives under."""

    folder: str
    module_name: str
    manifest: dict[str, Any]
    settings: Any
    network: bool
    publish: list[str]
    subscribe: list[str]
    services: list[str]
    heartbeat_interval: float
    memory_mb: int
    cpu_seconds: int
    processes: int
    private_paths: list[str]
    """What the child must never be able to read (the data folder)."""
    workdir: str = ""
    uid: int | None = None
    """The child's own uid (and gid) when the kernel runs as root, else None."""


class Started(Msg, tag="started"):
    """The child's answer to Hello: the plugin started, or why not."""

    ok: bool
    error: str | None = None
    traceback: str | None = None
    confinement: dict[str, Any] = {}
    """What the OS enforces on the child (confinement.py)."""


class Described(Msg, tag="described"):
    """What the plugin serves, sent once its app is built and before its `startup` runs:
    whether it has routes and pages, and its app's OpenAPI `paths` and `components`."""

    routes: bool
    pages: bool
    openapi: dict[str, Any] | None = None


class Heartbeat(Msg, tag="hb"):
    pass


class Stop(Msg, tag="stop"):
    """Ask the child to run `shutdown` and exit."""


class Fatal(Msg, tag="fatal"):
    """The child's last words before it exits on its own (an escaped exception, memory)."""

    reason: str


class Report(Msg, tag="report"):
    """Something for the parent to log and pass on: an error, or an audit record."""

    kind: str  # "error" | "audit"
    message: str
    context: dict[str, Any] = {}


# --- calls in either direction ---------------------------------------------------------


class Call(Msg, tag="call"):
    """A request answered by a Result with the same id (ids are per direction)."""

    id: int
    op: str
    args: dict[str, Any]


class Result(Msg, tag="result"):
    id: int
    ok: bool
    value: Any = None
    error: str | None = None
    kind: str | None = None  # exception class name, e.g. "PermissionDenied"


# --- HTTP ------------------------------------------------------------------------------


class HttpRequest(Msg, tag="req"):
    """An HTTP request and its first body chunk (for most requests, the whole body)."""

    id: int
    method: str
    path: str
    raw_path: bytes
    query_string: bytes
    headers: Headers
    http_version: str
    scheme: str
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    body: bytes
    more: bool


class HttpResponse(Msg, tag="resp"):
    """Status, headers and the first body chunk in one frame."""

    id: int
    status: int
    headers: Headers
    body: bytes
    more: bool


class HttpBody(Msg, tag="body"):
    """A further body chunk, either direction."""

    id: int
    body: bytes
    more: bool


class HttpAck(Msg, tag="ack"):
    """The receiver consumed `count` chunks of stream `id`: the sender may send more."""

    id: int
    count: int


class HttpAbort(Msg, tag="abort"):
    """The other side gave up on request `id` (client gone, or the handler failed)."""

    id: int


Frame = (
    Hello
    | Started
    | Described
    | Heartbeat
    | Stop
    | Fatal
    | Report
    | Call
    | Result
    | HttpRequest
    | HttpResponse
    | HttpBody
    | HttpAck
    | HttpAbort
)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def encode(message: Msg) -> bytes:
    """One frame: 4-byte big-endian length, then the msgpack body."""
    body = _encoder.encode(message)
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> Msg:
    return _decoder.decode(body)


def receive_blocking(sock: socket.socket) -> Msg:
    """One frame from a blocking socket: the child's Hello, read before asyncio starts."""

    def exactly(size: int) -> bytes:
        data = sock.recv(size, socket.MSG_WAITALL)
        if len(data) != size:
            raise EOFError("the other side closed the connection")
        return data

    (size,) = HEADER.unpack(exactly(HEADER.size))
    if size > MAX_FRAME:
        raise EOFError(f"frame of {size} bytes is over the {MAX_FRAME} byte limit")
    return decode(exactly(size))


class Connection:
    """A framed, buffered duplex over asyncio streams. Writes never wait unless the
    socket buffer is over its high-water mark, so a small frame costs one syscall."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._closed = False

    @classmethod
    async def over(cls, sock: Any) -> Connection:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=MAX_FRAME)
        return cls(reader, writer)

    def send_nowait(self, message: Msg) -> None:
        if not self._closed:
            self.writer.write(encode(message))

    async def send(self, message: Msg) -> None:
        if self._closed:
            raise ConnectionError("the sandbox connection is closed")
        self.writer.write(encode(message))
        if self.writer.transport.get_write_buffer_size() > 1 << 16:
            await self.writer.drain()

    async def receive(self) -> Msg:
        """The next frame; raises EOFError when the other side is gone."""
        try:
            head = await self.reader.readexactly(HEADER.size)
            (size,) = HEADER.unpack(head)
            if size > MAX_FRAME:
                raise EOFError(f"frame of {size} bytes is over the {MAX_FRAME} byte limit")
            return decode(await self.reader.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            raise EOFError("the other side closed the connection") from error

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.writer.close()

    @property
    def closed(self) -> bool:
        return self._closed
