"""Chat: conversations over WebSockets (`/api/chat/ws`) and plain HTTP, presence, typing,
read receipts, attachments and an embeddable widget; `ChatService` for other plugins."""

from __future__ import annotations

from typing import Any, cast

import anyio

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import declare_permissions
from mindframe.sdk.chat import (
    AgentPresenceChanged,
    ChatService,
    ConversationAssigned,
    ConversationClosed,
    ConversationCreated,
    MessageCreated,
)

from . import frames, gdpr, models, routes, widget
from .rooms import Rooms
from .service import ChatServer
from .settings import ChatSettings
from .socket_handler import ChatSocket
from .typing_indicators import TypingBoard

PERMISSIONS = {
    "chat.agent": "Answer visitors' conversations, see every conversation, assign and close them"
}


def server_of(ctx: PluginContext) -> ChatServer:
    return cast(ChatServer, ctx.resolve(ChatService))


@hookimpl
def settings_model() -> type[ChatSettings]:
    return ChatSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    server = ChatServer(ctx)
    ctx.provide(ChatService, server)
    ctx.provide(Rooms, Rooms(ctx, server.read_after, ctx.settings.replay_page))
    ctx.provide(TypingBoard, TypingBoard(ctx.settings.typing_seconds))
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    rooms = ctx.resolve(Rooms)

    async def deliver(event: MessageCreated) -> None:
        rooms.deliver(event.conversation_id, event.seq, frames.from_event(event))

    async def tell_agents(
        event: ConversationCreated | ConversationAssigned | ConversationClosed,
    ) -> None:
        conversation = await server_of(ctx).conversation(event.conversation_id)
        if conversation is not None:
            frame = {
                "type": "conversation",
                "event": event.topic,
                "conversation": frames.conversation_view(conversation),
            }
            rooms.broadcast(rooms.agents.values(), frame)
            if event.topic != ConversationCreated.topic:
                rooms.broadcast(rooms.members(event.conversation_id), frame)

    async def tell_visitors(event: AgentPresenceChanged) -> None:
        present = await server_of(ctx).agents_present()
        online = any(p.status == "online" for p in present)
        rooms.broadcast(rooms.visitors.values(), {"type": "presence", "agents_online": online})

    ctx.subscribe(MessageCreated.topic, deliver, queue_size=100_000)
    ctx.subscribe("chat.conversation.*", tell_agents)
    ctx.subscribe(AgentPresenceChanged.topic, tell_visitors)


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [*routes.ROUTES, *widget.routes(ctx)]


@hookimpl
def register_pages(ctx: PluginContext) -> list[Any]:
    return [widget.widget_script]


@hookimpl
async def startup(ctx: PluginContext) -> None:
    server, rooms, typing = server_of(ctx), ctx.resolve(Rooms), ctx.resolve(TypingBoard)
    handler = ChatSocket(ctx, server, rooms, typing)
    ctx.socket("/ws", handler)
    ctx.singleton(
        "presence-timeout", server.presence.expire, every=ctx.settings.presence_timeout / 4
    )

    async def expire_typing() -> None:
        while True:
            await anyio.sleep(min(1.0, typing.seconds / 4))
            handler.expire_typing()

    ctx.spawn(expire_typing, name="typing expiry")


@hookimpl
def snapshot_state(ctx: PluginContext) -> Any:
    rooms = ctx.resolve(Rooms)
    return {
        "typing": ctx.resolve(TypingBoard).snapshot(),
        "catching_up": [list(key) for key in rooms.catching_up],
    }


@hookimpl
def restore_state(ctx: PluginContext, state: Any) -> None:
    ctx.resolve(TypingBoard).restore(state.get("typing", []))
    rooms = ctx.resolve(Rooms)
    live = {c.id: c for c in rooms.agents.values()} | {c.id: c for c in rooms.visitors.values()}
    for connection_id, conversation_id in state.get("catching_up", []):
        connection = live.get(connection_id)
        if connection is not None and (connection_id, conversation_id) not in rooms.catching_up:
            rooms.catching_up[(connection_id, conversation_id)] = []
            ctx.spawn(rooms.catch_up, connection, conversation_id, name="chat catch-up")


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    server, rooms = server_of(ctx), ctx.resolve(Rooms)
    present = await server.agents_present()
    return {
        "ok": True,
        "sockets": rooms.count(),
        "agents_online": sum(p.status == "online" for p in present),
        "pending_writes": server.writer.pending,
        "stored": server.writer.written,
        "batches": server.writer.batches,
    }


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> Any:
    return await ctx.transaction(gdpr.export_subject, subject, read_only=True)


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await ctx.transaction(gdpr.erase_subject, subject)
