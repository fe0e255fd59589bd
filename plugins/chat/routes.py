"""HTTP: the same conversations for clients that cannot hold a socket, visitors' tokens,
attachments, presence and a visitor's own data.

A visitor sends its token in the `X-Visitor-Token` header (an upload may send it as the form
field `visitor_token` instead, so the widget needs no CORS preflight); an agent is a signed-in
user or API token holding `chat.agent`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, FromQuery, JSONBody

from mindframe.sdk.auth import current_identity
from mindframe.sdk.chat import ChatError, ChatMessage, ChatService, Conversation
from mindframe.sdk.http import Limit, Offset

from . import errors, gdpr
from .service import ChatServer, Participant
from .socket_handler import agent_of

VISITOR_HEADER = "x-visitor-token"
ANYONE = {"Access-Control-Allow-Origin": "*"}
"""On answers a widget on another site reads without credentials."""


class NewVisitor(msgspec.Struct):
    name: str | None = None
    email: str | None = None
    locale: str | None = None


class VisitorCreated(msgspec.Struct):
    visitor_id: str
    token: str


class NewMessage(msgspec.Struct):
    text: str
    client_id: str | None = None


class ReadUpTo(msgspec.Struct):
    seq: int


class Assignment(msgspec.Struct):
    agent_id: str | None


class Availability(msgspec.Struct):
    online: bool
    agents: int


def _server(chat_service: ChatService) -> ChatServer:
    assert isinstance(chat_service, ChatServer)
    return chat_service


def fail(error: ChatError) -> HTTPException:
    """A refusal as a problem-details response."""
    return HTTPException(status_code=error.status, detail=str(error))


async def participant(
    request: Request, server: ChatServer, token: str | None = None
) -> Participant:
    """The visitor behind the token, else the signed-in agent; 401 otherwise."""
    token = token or request.headers.get(VISITOR_HEADER)
    if token:
        visitor = await server.visitor(token)
        if visitor is None:
            raise fail(errors.refusal(server.ctx, 401, errors.UNKNOWN_VISITOR))
        return visitor
    agent = agent_of(await current_identity(request))
    if agent is None:
        raise fail(errors.refusal(server.ctx, 401, errors.SIGN_IN))
    return agent


async def agent(request: Request, server: ChatServer) -> Participant:
    who = await participant(request, server)
    if who.kind != "agent":
        raise fail(errors.refusal(server.ctx, 403, errors.AGENTS_ONLY))
    return who


@post("/visitors", status_code=201, summary="A visitor token for the widget or an API client")
async def create_visitor(
    chat_service: NamedDependency[ChatService], data: JSONBody[NewVisitor | None] = None
) -> Response[VisitorCreated]:
    data = data or NewVisitor()
    visitor_id, token = await _server(chat_service).create_visitor(
        data.name, data.email, data.locale
    )
    return Response(VisitorCreated(visitor_id, token), status_code=201, headers=ANYONE)


@get("/conversations", summary="Conversations: a visitor's own, or all for an agent")
async def list_conversations(
    request: Request,
    chat_service: NamedDependency[ChatService],
    status: FromQuery[str | None] = None,
    limit: FromQuery[Limit] = 50,
) -> list[Conversation]:
    server = _server(chat_service)
    who = await participant(request, server)
    visitor_id = who.id if who.kind == "visitor" else None
    wanted = status if status in ("open", "closed") else None
    return await server.conversations(
        status=wanted,
        visitor_id=visitor_id,
        limit=max(1, min(limit, 500)),  # type: ignore[arg-type]
    )


@post("/conversations", status_code=201, summary="Open a conversation (visitors)")
async def open_conversation(
    request: Request, chat_service: NamedDependency[ChatService]
) -> Conversation:
    server = _server(chat_service)
    who = await participant(request, server)
    if who.kind != "visitor":
        raise fail(errors.refusal(server.ctx, 403, errors.HELLO_FIRST))
    return await server.start(who)


@get("/conversations/{conversation_id:str}", summary="One conversation")
async def show_conversation(
    request: Request, conversation_id: FromPath[str], chat_service: NamedDependency[ChatService]
) -> Conversation:
    server = _server(chat_service)
    try:
        return await server.visible(await participant(request, server), conversation_id)
    except ChatError as error:
        raise fail(error) from None


@get("/conversations/{conversation_id:str}/messages", summary="Messages after a cursor")
async def list_messages(
    request: Request,
    conversation_id: FromPath[str],
    chat_service: NamedDependency[ChatService],
    after: FromQuery[Offset] = 0,
    limit: FromQuery[Limit] = 100,
) -> list[ChatMessage]:
    server = _server(chat_service)
    try:
        await server.visible(await participant(request, server), conversation_id)
    except ChatError as error:
        raise fail(error) from None
    return await server.read_after(conversation_id, max(0, after), max(1, min(limit, 500)))


@post("/conversations/{conversation_id:str}/messages", status_code=201, summary="Send a message")
async def send_message(
    request: Request,
    conversation_id: FromPath[str],
    data: JSONBody[NewMessage],
    chat_service: NamedDependency[ChatService],
) -> ChatMessage:
    server = _server(chat_service)
    try:
        who = await participant(request, server)
        await server.visible(who, conversation_id)
        return await server.post_message(
            conversation_id, data.text, author=who.author, client_id=data.client_id
        )
    except ChatError as error:
        raise fail(error) from None


@post("/conversations/{conversation_id:str}/read", summary="Read up to a message")
async def read_up_to(
    request: Request,
    conversation_id: FromPath[str],
    data: JSONBody[ReadUpTo],
    chat_service: NamedDependency[ChatService],
) -> dict[str, int]:
    server = _server(chat_service)
    try:
        who = await participant(request, server)
        await server.visible(who, conversation_id)
    except ChatError as error:
        raise fail(error) from None
    return {"seq": await server.mark_read(who, conversation_id, data.seq)}


@post("/conversations/{conversation_id:str}/assign", summary="Assign to an agent (agents)")
async def assign(
    request: Request,
    conversation_id: FromPath[str],
    data: JSONBody[Assignment],
    chat_service: NamedDependency[ChatService],
) -> Conversation:
    server = _server(chat_service)
    who = await agent(request, server)
    try:
        return await server.assign(conversation_id, data.agent_id, by=who.id)
    except ChatError as error:
        raise fail(
            errors.refusal(server.ctx, 404, errors.NO_SUCH_CONVERSATION, id=conversation_id)
        ) from error


@post("/conversations/{conversation_id:str}/close", summary="Close a conversation (agents)")
async def close(
    request: Request, conversation_id: FromPath[str], chat_service: NamedDependency[ChatService]
) -> Conversation:
    server = _server(chat_service)
    who = await agent(request, server)
    try:
        return await server.close(conversation_id, by=who.id)
    except ChatError as error:
        raise fail(
            errors.refusal(server.ctx, 404, errors.NO_SUCH_CONVERSATION, id=conversation_id)
        ) from error


SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


@post(
    "/conversations/{conversation_id:str}/attachments",
    status_code=201,
    summary="Upload a file into the conversation (multipart field 'file')",
)
async def upload(
    request: Request,
    conversation_id: FromPath[str],
    chat_service: NamedDependency[ChatService],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[ChatMessage]:
    server = _server(chat_service)
    try:
        token = data.get("visitor_token")
        who = await participant(request, server, token if isinstance(token, str) else None)
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise errors.refusal(server.ctx, 400, errors.NO_FILE)
        limit = server.settings.max_attachment_bytes
        content = await upload.read(limit + 1)
        filename = SAFE_NAME.sub("_", upload.filename or "file")[-200:] or "file"
        attachment_id = await server.attach(
            who,
            conversation_id,
            filename,
            upload.content_type or "application/octet-stream",
            content,
        )
        text = (
            data.get("text")
            if isinstance(data.get("text"), str) and data["text"].strip()
            else filename
        )
        client_id = data.get("client_id") if isinstance(data.get("client_id"), str) else None
        message = await server.post_message(
            conversation_id,
            text,
            author=who.author,
            client_id=client_id,
            attachment_ids=[attachment_id],
        )
    except ChatError as error:
        raise fail(error) from None
    return Response(message, status_code=201, headers=ANYONE)


INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}


@get("/attachments/{attachment_id:str}", summary="Download an attachment (its URL carries a key)")
async def download(
    attachment_id: FromPath[str], key: FromQuery[str], chat_service: NamedDependency[ChatService]
) -> Response[bytes]:
    server = _server(chat_service)
    found = await server.ctx.transaction(
        gdpr.attachment_with_key, attachment_id, key, read_only=True
    )
    if found is None:
        raise fail(errors.refusal(server.ctx, 404, errors.NO_SUCH_ATTACHMENT))
    content_type = (
        found["content_type"]
        if found["content_type"] in INLINE_TYPES
        else "application/octet-stream"
    )
    return Response(
        found["data"],
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{found["filename"]}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            **ANYONE,
        },
    )


@get("/presence", summary="Whether an agent is online (for visitors)")
async def availability(chat_service: NamedDependency[ChatService]) -> Response[Availability]:
    present = await chat_service.agents_present()
    online = sum(p.status == "online" for p in present)
    return Response(Availability(online > 0, online), headers=ANYONE)


@get("/visitors/me/export", summary="Everything stored about this visitor")
async def export_visitor(
    request: Request, chat_service: NamedDependency[ChatService]
) -> dict[str, Any]:
    server = _server(chat_service)
    who = await participant(request, server)
    if who.kind != "visitor":
        raise fail(errors.refusal(server.ctx, 403, errors.HELLO_FIRST))
    return await server.ctx.transaction(gdpr.export_visitors, [who.id], read_only=True)


@delete("/visitors/me", status_code=204, summary="Erase this visitor and their conversations")
async def erase_visitor(request: Request, chat_service: NamedDependency[ChatService]) -> None:
    server = _server(chat_service)
    who = await participant(request, server)
    if who.kind != "visitor":
        raise fail(errors.refusal(server.ctx, 403, errors.HELLO_FIRST))
    await server.ctx.transaction(gdpr.erase_visitors, [who.id])


ROUTES = [
    create_visitor,
    list_conversations,
    open_conversation,
    show_conversation,
    list_messages,
    send_message,
    read_up_to,
    assign,
    close,
    upload,
    download,
    availability,
    export_visitor,
    erase_visitor,
]
