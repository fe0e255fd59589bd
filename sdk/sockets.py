"""WebSockets that survive a reload: the kernel holds the socket, the plugin handles frames.

Declare an endpoint with `ctx.socket(path, handler)` (in `register_routes` or `startup`);
it serves `/api/<plugin><path>`::

    class Echo:
        async def on_connect(self, conn: Connection) -> None:
            conn.state["frames"] = 0

        async def on_message(self, conn: Connection, data: str | bytes) -> None:
            conn.state["frames"] += 1
            await conn.send_json({"echo": data, "frames": conn.state["frames"]})

    @hookimpl
    def startup(ctx):
        ctx.socket("/echo", Echo())

The connection (`Connection`) is the kernel's: its `id`, `identity` (the signed-in user,
from a session cookie sent from this server's own origin or a bearer token; None for
anyone else), `locale`, `query`, `headers` and `state`. When the plugin is reloaded no
socket closes: frames that arrive meanwhile wait, and the new version gets `on_resume(conn)`
for each open connection before they reach it, so it can rebuild what it keeps in memory
from `conn.state` (keep that to plain data: the new code may define its classes anew).
Only when no version takes an endpoint over (the path was dropped, the plugin disabled) is
the socket closed, with `RECONNECT_NOW`: a client reconnects at once and resumes.

A handler method that raises is reported through `capture_exception`; the client gets an
error frame (`{"type": "error", "problem": {...}}`, RFC 9457 fields) and the socket stays
open.
"""

from mindframe.kernel.http.socket_connection import (
    FORBIDDEN,
    RECONNECT_NOW,
    TRY_AGAIN_LATER,
    UNAUTHORIZED,
    Connection,
)
from mindframe.kernel.http.socket_endpoints import Endpoint, SocketHandler

__all__ = [
    "FORBIDDEN",
    "RECONNECT_NOW",
    "TRY_AGAIN_LATER",
    "UNAUTHORIZED",
    "Connection",
    "Endpoint",
    "SocketHandler",
]
