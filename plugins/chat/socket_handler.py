"""`GET /api/chat/ws`: the conversation socket (the frames are in `frames.py`).

An agent is whoever connected with a session or API token holding `chat.agent`; a visitor
says `hello` with the token `POST /api/chat/visitors` gave it. Every refusal is an error
frame naming the frame it answers (`ref`), and the socket goes on.
"""

from __future__ import annotations

import msgspec

from mindframe.sdk import PluginContext
from mindframe.sdk.chat import ChatError
from mindframe.sdk.sockets import UNAUTHORIZED, Connection

from . import errors, frames
from .rooms import Rooms, cursors
from .service import ChatServer, Participant
from .typing_indicators import TypingBoard

AGENT_PERMISSION = "chat.agent"


def participant_of(connection: Connection) -> Participant | None:
    who = connection.state.get("who")
    return Participant(who["kind"], who["id"], who["name"]) if who else None


def agent_of(identity: object) -> Participant | None:
    """The connecting user as an agent, when they hold `chat.agent`."""
    can = getattr(identity, "can", None)
    if can is None or not can(AGENT_PERMISSION):
        return None
    return Participant("agent", identity.user_id, identity.username)  # type: ignore[attr-defined]


class ChatSocket:
    def __init__(
        self, ctx: PluginContext, server: ChatServer, rooms: Rooms, typing: TypingBoard
    ) -> None:
        self.ctx = ctx
        self.server = server
        self.rooms = rooms
        self.typing = typing

    # --- the kernel's calls ----------------------------------------------------------------

    async def on_connect(self, connection: Connection) -> None:
        agent = agent_of(connection.identity)
        if agent is not None:
            await self._welcome(connection, agent)

    async def on_resume(self, connection: Connection) -> None:
        self.rooms.adopt(connection)

    async def on_disconnect(self, connection: Connection) -> None:
        self.rooms.drop(connection)
        who = participant_of(connection)
        agents = self.rooms.agents.values()
        if who is not None and who.kind == "agent" and who not in map(participant_of, agents):
            await self.server.presence.set(who.id, "offline", who.name)

    async def on_message(self, connection: Connection, data: str | bytes) -> None:
        ref: str | None = None
        try:
            frame = frames.decode_frame(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            detail = self.ctx.gettext(errors.BAD_FRAME).format(error=error)
            await connection.send_json(frames.error_frame(400, detail))
            return
        ref = getattr(frame, "client_id", None) or type(frame).__name__.lower()
        try:
            await self._handle(connection, frame)
        except ChatError as error:
            await connection.send_json(frames.error_frame(error.status, str(error), ref))

    # --- frames --------------------------------------------------------------------------

    async def _handle(self, connection: Connection, frame: frames.Frame) -> None:
        if isinstance(frame, frames.Hello):
            await self._hello(connection, frame)
            return
        who = participant_of(connection)
        if who is None:
            raise errors.refusal(self.ctx, 401, errors.HELLO_FIRST)
        if who.kind == "agent":
            await self.server.presence.heard(who.id)
        if isinstance(frame, frames.Join):
            await self._join(connection, who, frame.conversation_id, frame.after)
        elif isinstance(frame, frames.Leave):
            self.rooms.leave(connection, frame.conversation_id)
        elif isinstance(frame, frames.Send):
            await self._send(connection, who, frame)
        elif isinstance(frame, frames.Typing):
            await self._typing(connection, who, frame)
        elif isinstance(frame, frames.Read):
            await self._read(connection, who, frame)
        elif isinstance(frame, frames.Presence):
            if who.kind != "agent":
                raise errors.refusal(self.ctx, 403, errors.AGENTS_ONLY)
            await self.server.presence.set(who.id, frame.status, who.name)
        elif isinstance(frame, frames.Ping):
            await connection.send_json({"type": "pong"})

    async def _hello(self, connection: Connection, frame: frames.Hello) -> None:
        if participant_of(connection) is not None:
            await self._welcome(connection, participant_of(connection))  # type: ignore[arg-type]
            return
        token = frame.visitor_token
        if token is None:  # a new visitor: the widget keeps the token for its next visit
            _, token = await self.server.create_visitor(locale=connection.locale)
            connection.state["new_token"] = token
        visitor = await self.server.visitor(token)
        if visitor is None:
            reason = self.ctx.gettext(errors.UNKNOWN_VISITOR)
            await connection.close(UNAUTHORIZED, reason)
            return
        await self._welcome(connection, visitor)

    async def _welcome(self, connection: Connection, who: Participant) -> None:
        connection.state["who"] = who.view()
        self.rooms.adopt(connection)
        if who.kind == "agent":
            await self.server.presence.set(who.id, "online", who.name)
            mine = await self.server.conversations(status="open", limit=200)
        else:
            mine = await self.server.conversations(visitor_id=who.id, status="open", limit=20)
        present = await self.server.agents_present()
        await connection.send_json(
            {
                "type": "welcome",
                "connection": connection.id,
                "you": who.view(),
                "locale": connection.locale,
                "agents_online": any(p.status == "online" for p in present),
                "conversations": [frames.conversation_view(c) for c in mine],
                "visitor_token": connection.state.pop("new_token", None),
            }
        )

    async def _join(
        self, connection: Connection, who: Participant, conversation_id: str, after: int
    ) -> None:
        conversation = await self.server.visible(who, conversation_id)
        self.rooms.join(connection, conversation_id, max(0, min(after, conversation.last_seq)))
        await connection.send_json(
            {
                "type": "joined",
                "conversation": frames.conversation_view(conversation),
                "reads": await self.server.receipts(conversation_id),
            }
        )
        await self.rooms.catch_up(connection, conversation_id)

    async def _send(self, connection: Connection, who: Participant, frame: frames.Send) -> None:
        conversation_id = frame.conversation_id
        self.server.check_text(frame.text, frame.client_id)
        if conversation_id is None:
            if who.kind != "visitor":
                raise errors.refusal(self.ctx, 400, errors.NO_SUCH_CONVERSATION, id="null")
            conversation = await self.server.start(who, connection.locale)
            conversation_id = conversation.id
            await self._join(connection, who, conversation_id, 0)
        elif conversation_id not in cursors(connection):
            await self.server.visible(who, conversation_id)
        message = await self.server.post_message(
            conversation_id, frame.text, author=who.author, client_id=frame.client_id
        )
        await connection.send_json(
            {
                "type": "ack",
                "client_id": frame.client_id,
                "conversation_id": conversation_id,
                "id": message.id,
                "seq": message.seq,
            }
        )
        if self.typing.stop(conversation_id, who.view()):
            self._tell_typing(conversation_id, who.view(), False, connection.id)

    async def _typing(self, connection: Connection, who: Participant, frame: frames.Typing) -> None:
        if frame.conversation_id not in cursors(connection):
            await self.server.visible(who, frame.conversation_id)
        if frame.typing:
            self.typing.start(frame.conversation_id, who.view())
            self._tell_typing(frame.conversation_id, who.view(), True, connection.id)
        elif self.typing.stop(frame.conversation_id, who.view()):
            self._tell_typing(frame.conversation_id, who.view(), False, connection.id)

    def _tell_typing(
        self, conversation_id: str, author: dict, typing: bool, skip: str | None = None
    ) -> None:
        frame = {
            "type": "typing",
            "conversation_id": conversation_id,
            "author": author,
            "typing": typing,
            "expires_in": self.typing.seconds if typing else 0,
        }
        self.rooms.broadcast(self.rooms.members(conversation_id), frame, skip=skip)

    def expire_typing(self) -> None:
        for conversation_id, author in self.typing.expired():
            self._tell_typing(conversation_id, author, False)

    async def _read(self, connection: Connection, who: Participant, frame: frames.Read) -> None:
        await self.server.visible(who, frame.conversation_id)
        seq = await self.server.mark_read(who, frame.conversation_id, frame.seq)
        receipt = {
            "type": "read",
            "conversation_id": frame.conversation_id,
            "reader": who.view(),
            "seq": seq,
        }
        self.rooms.broadcast(self.rooms.members(frame.conversation_id), receipt)
