"""Who follows which conversation on this server, and delivery to them without a gap or a
duplicate.

Each connection keeps, in its kernel-held `state`, the conversations it joined and the
sequence number it was last sent in each (its cursor), so a reloaded version rebuilds the
rooms from the sockets it adopts (`adopt`). A message is sent to a connection only as the
next number after its cursor; one further ahead means something was missed (a reload, a
client that joined from an old cursor, another server's message arriving first), and that
connection catches up from the table before anything newer is sent to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from mindframe.sdk import PluginContext
from mindframe.sdk.chat import ChatMessage
from mindframe.sdk.sockets import Connection

from . import frames

ReadAfter = Callable[[str, int, int], Awaitable[list[ChatMessage]]]


def cursors(connection: Connection) -> dict[str, int]:
    """The connection's conversations and, for each, the last sequence number it was sent."""
    return connection.state.setdefault("cursors", {})


class Rooms:
    """Conversation id → the connections following it; agents and visitors by connection."""

    def __init__(self, ctx: PluginContext, read_after: ReadAfter, page: int = 500) -> None:
        self._ctx = ctx
        self._read_after = read_after
        self._page = page
        self._members: dict[str, dict[str, Connection]] = {}
        self.agents: dict[str, Connection] = {}
        self.visitors: dict[str, Connection] = {}
        self.catching_up: dict[tuple[str, str], list[tuple[int, str]]] = {}
        """(connection, conversation) → live messages held back while it catches up."""
        self._running: set[tuple[str, str]] = set()

    # --- membership ----------------------------------------------------------------------

    def adopt(self, connection: Connection) -> None:
        """Put a connection (new, or taken over from the previous version) where its state
        says it belongs."""
        who = connection.state.get("who")
        if who is None:
            return
        (self.agents if who["kind"] == "agent" else self.visitors)[connection.id] = connection
        for conversation_id in cursors(connection):
            self._members.setdefault(conversation_id, {})[connection.id] = connection

    def join(self, connection: Connection, conversation_id: str, after: int) -> None:
        cursors(connection)[conversation_id] = after
        self._members.setdefault(conversation_id, {})[connection.id] = connection

    def leave(self, connection: Connection, conversation_id: str) -> None:
        cursors(connection).pop(conversation_id, None)
        room = self._members.get(conversation_id, {})
        room.pop(connection.id, None)
        if not room:
            self._members.pop(conversation_id, None)

    def drop(self, connection: Connection) -> None:
        self.agents.pop(connection.id, None)
        self.visitors.pop(connection.id, None)
        for conversation_id in list(cursors(connection)):
            room = self._members.get(conversation_id, {})
            room.pop(connection.id, None)
            if not room:
                self._members.pop(conversation_id, None)

    def members(self, conversation_id: str) -> Iterator[Connection]:
        yield from list(self._members.get(conversation_id, {}).values())

    def count(self) -> int:
        return len(self.agents) + len(self.visitors)

    # --- delivery ------------------------------------------------------------------------

    def deliver(self, conversation_id: str, seq: int, text: str) -> None:
        """Send message `seq` (its frame `text`) to every follower whose cursor it is next
        for; start a catch-up for any that missed something. Never awaits, so a reload
        cannot cut it in half."""
        for connection in self.members(conversation_id):
            key = (connection.id, conversation_id)
            if key in self.catching_up:
                self.catching_up[key].append((seq, text))
                continue
            cursor = cursors(connection).get(conversation_id, 0)
            if seq == cursor + 1:
                self._send(connection, conversation_id, seq, text)
            elif seq > cursor:
                self.catching_up[key] = [(seq, text)]
                self._ctx.spawn(self.catch_up, connection, conversation_id, name="chat catch-up")

    def _send(self, connection: Connection, conversation_id: str, seq: int, text: str) -> None:
        cursors(connection)[conversation_id] = seq
        connection.send_text_nowait(text)

    async def catch_up(self, connection: Connection, conversation_id: str) -> None:
        """Send what the connection missed after its cursor, from the table, then what was
        held back meanwhile; again if that still leaves a gap."""
        key = (connection.id, conversation_id)
        if key in self._running:
            return  # the catch-up under way sends it all
        self._running.add(key)
        self.catching_up.setdefault(key, [])
        try:
            while not connection.closed and conversation_id in cursors(connection):
                await self._replay(connection, conversation_id)
                held, self.catching_up[key] = sorted(self.catching_up[key]), []
                gap = False
                for seq, text in held:
                    cursor = cursors(connection).get(conversation_id, 0)
                    if seq == cursor + 1:
                        self._send(connection, conversation_id, seq, text)
                    elif seq > cursor:
                        gap = True
                        break
                if not gap and not self.catching_up[key]:
                    return
        finally:
            self._running.discard(key)
            self.catching_up.pop(key, None)

    async def _replay(self, connection: Connection, conversation_id: str) -> None:
        while True:
            cursor = cursors(connection).get(conversation_id, 0)
            page = await self._read_after(conversation_id, cursor, self._page)
            for message in page:
                if message.seq == cursors(connection).get(conversation_id, 0) + 1:
                    self._send(
                        connection, conversation_id, message.seq, frames.from_message(message)
                    )
            if len(page) < self._page or connection.closed:
                return

    def broadcast(self, connections: Any, value: Any, *, skip: str | None = None) -> None:
        """Send one JSON value (encoded once) to `connections`, but not to `skip`."""
        text = frames.text_of(value)
        for connection in list(connections):
            if connection.id != skip:
                connection.send_text_nowait(text)
