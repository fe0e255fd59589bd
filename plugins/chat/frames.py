"""The socket's JSON frames: what a client may send (decoded by type, strictly), and the
frames the server sends, each encoded once however many sockets it goes to.

Client → server: `hello` (a visitor's token), `join` (a conversation, from a cursor),
`leave`, `send` (text with the client's own id), `typing` (started or stopped), `read` (up to
a sequence number), `presence` (an agent online or away), `ping`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from http import HTTPStatus
from typing import Any, Literal

import msgspec

from mindframe.sdk.chat import Attachment, ChatMessage, Conversation, MessageCreated


class Hello(msgspec.Struct, tag="hello", forbid_unknown_fields=True):
    visitor_token: str | None = None


class Join(msgspec.Struct, tag="join", forbid_unknown_fields=True):
    conversation_id: str
    after: int = 0


class Leave(msgspec.Struct, tag="leave", forbid_unknown_fields=True):
    conversation_id: str


class Send(msgspec.Struct, tag="send", forbid_unknown_fields=True):
    text: str
    client_id: str
    conversation_id: str | None = None
    """None: a visitor's first message, which opens a conversation."""


class Typing(msgspec.Struct, tag="typing", forbid_unknown_fields=True):
    conversation_id: str
    typing: bool = True


class Read(msgspec.Struct, tag="read", forbid_unknown_fields=True):
    conversation_id: str
    seq: int


class Presence(msgspec.Struct, tag="presence", forbid_unknown_fields=True):
    status: Literal["online", "away"]


class Ping(msgspec.Struct, tag="ping", forbid_unknown_fields=True):
    pass


Frame = Hello | Join | Leave | Send | Typing | Read | Presence | Ping
decode_frame = msgspec.json.Decoder(Frame).decode
encode = msgspec.json.Encoder().encode


def text_of(value: Any) -> str:
    return encode(value).decode()


def message_frame(
    *,
    conversation_id: str,
    message_id: str,
    seq: int,
    author: dict[str, Any],
    text: str,
    created_at: datetime,
    client_id: str | None,
    attachments: tuple[Attachment, ...],
) -> str:
    return text_of(
        {
            "type": "message",
            "conversation_id": conversation_id,
            "id": message_id,
            "seq": seq,
            "author": author,
            "text": text,
            "created_at": created_at,
            "client_id": client_id,
            "attachments": attachments,
        }
    )


def from_message(message: ChatMessage) -> str:
    author = message.author
    return message_frame(
        conversation_id=message.conversation_id,
        message_id=message.id,
        seq=message.seq,
        author={"kind": author.kind, "id": author.id, "name": author.name},
        text=message.text,
        created_at=message.created_at,
        client_id=message.client_id,
        attachments=message.attachments,
    )


def from_event(event: MessageCreated) -> str:
    return message_frame(
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        seq=event.seq,
        author={"kind": event.author_kind, "id": event.author_id, "name": event.author_name},
        text=event.text,
        created_at=event.created_at,
        client_id=event.client_id,
        attachments=event.attachments,
    )


def conversation_view(conversation: Conversation) -> dict[str, Any]:
    return dataclasses.asdict(conversation)


def error_frame(status: int, detail: str, ref: str | None = None) -> dict[str, Any]:
    problem = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return {"type": "error", "problem": problem, "ref": ref}
