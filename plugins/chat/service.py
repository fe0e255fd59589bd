"""`ChatServer`: the plugin's `ChatService`, plus what its socket and routes need (visitors,
read receipts, attachments). Every change is committed before a call returns; then the bus
hears of it and the socket fan-out (`register_subscriptions`) delivers it."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext
from mindframe.sdk.chat import (
    AgentPresence,
    Author,
    Channel,
    ChatMessage,
    ChatService,
    Contact,
    Conversation,
    ConversationAssigned,
    ConversationClosed,
    ConversationCreated,
    ConversationNotFound,
    ConversationStatus,
    MessageCreated,
)

from . import errors, store
from .presence import PresenceBook
from .settings import ChatSettings
from .store import Draft, Stored
from .writer import MessageWriter


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Participant:
    """Who is asking: a visitor (by token) or an agent (a user with `chat.agent`)."""

    kind: str  # "visitor" or "agent"
    id: str
    name: str | None = None

    @property
    def author(self) -> Author:
        return Author(self.kind, self.id, self.name)  # type: ignore[arg-type]

    def view(self) -> dict[str, str | None]:
        return {"kind": self.kind, "id": self.id, "name": self.name}

    def may_see(self, conversation: Conversation) -> bool:
        return self.kind == "agent" or conversation.visitor_id == self.id


class ChatServer(ChatService):
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.settings: ChatSettings = ctx.settings
        self.writer = MessageWriter(ctx, self._publish, ctx.settings.batch_limit)
        self.presence = PresenceBook(ctx)

    # --- visitors --------------------------------------------------------------------------

    async def create_visitor(
        self, name: str | None = None, email: str | None = None, locale: str | None = None
    ) -> tuple[str, str]:
        """A new visitor's id and token (shown once; only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        visitor_id = await self.ctx.transaction(
            lambda s: store.create_visitor(s, digest(token), name=name, email=email, locale=locale)
        )
        return visitor_id, token

    async def visitor(self, token: str) -> Participant | None:
        row = await self.ctx.transaction(store.visitor_by_digest, digest(token), read_only=True)
        return Participant("visitor", row["id"], row["name"]) if row else None

    # --- conversations ---------------------------------------------------------------------

    async def start(self, visitor: Participant, locale: str | None = None) -> Conversation:
        """The visitor's open web conversation, opened when they have none."""

        def open_or_find(session: Session) -> tuple[Conversation, bool]:
            mine = store.list_conversations(
                session, status="open", channel="web", visitor_id=visitor.id, limit=1
            )
            if mine:
                return mine[0], False
            return store.open_conversation(session, visitor.id, "web", locale=locale)

        conversation, created = await self.ctx.transaction(open_or_find)
        if created:
            await self._announce_created(conversation)
        return conversation

    async def open_conversation(
        self,
        channel: Channel,
        *,
        contact: Contact,
        subject: str | None = None,
        external_ref: str | None = None,
    ) -> Conversation:
        def open_for_contact(session: Session) -> tuple[Conversation, bool]:
            known = store.visitor_by_email(session, contact.email) if contact.email else None
            visitor_id = (
                known["id"]
                if known
                else store.create_visitor(
                    session,
                    digest(secrets.token_urlsafe(32)),
                    name=contact.name,
                    email=contact.email,
                    locale=contact.locale,
                )
            )
            return store.open_conversation(
                session,
                visitor_id,
                channel,
                subject=subject,
                locale=contact.locale,
                external_ref=external_ref,
            )

        conversation, created = await self.ctx.transaction(open_for_contact)
        if created:
            await self._announce_created(conversation)
        return conversation

    async def _announce_created(self, conversation: Conversation) -> None:
        await self.ctx.publish(
            ConversationCreated(
                conversation_id=conversation.id,
                channel=conversation.channel,
                visitor_id=conversation.visitor_id,
                subject=conversation.subject,
                locale=conversation.locale,
                external_ref=conversation.external_ref,
            )
        )

    async def conversation(self, conversation_id: str) -> Conversation | None:
        return await self.ctx.transaction(store.conversation, conversation_id, read_only=True)

    async def visible(self, who: Participant, conversation_id: str) -> Conversation:
        """The conversation if `who` may see it; else a 404 (whether it exists or not)."""
        conversation = await self.conversation(conversation_id)
        if conversation is None or not who.may_see(conversation):
            error = errors.refusal(
                self.ctx, 404, errors.NO_SUCH_CONVERSATION, id=conversation_id[:64]
            )
            raise ConversationNotFound(str(error))
        return conversation

    async def conversations(
        self,
        *,
        status: ConversationStatus | None = None,
        assignee_id: str | None = None,
        channel: Channel | None = None,
        limit: int = 50,
        visitor_id: str | None = None,
    ) -> list[Conversation]:
        return await self.ctx.transaction(
            lambda s: store.list_conversations(
                s,
                status=status,
                assignee_id=assignee_id,
                channel=channel,
                visitor_id=visitor_id,
                limit=limit,
            ),
            read_only=True,
        )

    async def messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        if await self.conversation(conversation_id) is None:
            raise ConversationNotFound(conversation_id)
        return await self.read_after(conversation_id, after, limit)

    async def last_seqs(self, conversation_ids: Sequence[str]) -> dict[str, int]:
        return await self.ctx.transaction(store.last_seqs, list(conversation_ids), read_only=True)

    async def read_after(self, conversation_id: str, after: int, limit: int) -> list[ChatMessage]:
        return await self.ctx.transaction(
            store.messages_after, conversation_id, after, limit, read_only=True
        )

    async def assign(
        self, conversation_id: str, agent_id: str | None, *, by: str | None = None
    ) -> Conversation:
        changed = await self.ctx.transaction(store.set_assignee, conversation_id, agent_id)
        if changed is None:
            raise ConversationNotFound(conversation_id)
        conversation, previous = changed
        if previous != agent_id:
            await self.ctx.publish(
                ConversationAssigned(
                    conversation_id=conversation_id,
                    agent_id=agent_id,
                    previous_agent_id=previous,
                    assigned_by=by,
                )
            )
        return conversation

    async def close(self, conversation_id: str, *, by: str | None = None) -> Conversation:
        closed = await self.ctx.transaction(store.close_conversation, conversation_id)
        if closed is None:
            raise ConversationNotFound(conversation_id)
        conversation, changed = closed
        if changed:
            await self.ctx.publish(
                ConversationClosed(conversation_id=conversation_id, closed_by=by)
            )
        return conversation

    async def agents_present(self) -> list[AgentPresence]:
        return await self.presence.present()

    # --- messages --------------------------------------------------------------------------

    def check_text(self, text: str, client_id: str | None) -> str:
        text = text.strip()
        if not text:
            raise errors.refusal(self.ctx, 400, errors.EMPTY_TEXT)
        limit = self.settings.max_text_length
        if len(text) > limit:
            raise errors.refusal(self.ctx, 400, errors.TEXT_TOO_LONG, limit=limit)
        if client_id is not None and not 0 < len(client_id) <= 64:
            raise errors.refusal(self.ctx, 400, errors.BAD_CLIENT_ID)
        return text

    async def post_message(
        self,
        conversation_id: str,
        text: str,
        *,
        author: Author,
        client_id: str | None = None,
        attachment_ids: Sequence[str] = (),
    ) -> ChatMessage:
        text = self.check_text(text, client_id)
        draft = Draft(conversation_id, author, text, client_id, tuple(attachment_ids))
        stored = await self.writer.write(draft)
        if stored.refused == "missing":
            raise ConversationNotFound(
                str(errors.refusal(self.ctx, 404, errors.NO_SUCH_CONVERSATION, id=conversation_id))
            )
        if stored.refused == "closed":
            raise errors.refusal(self.ctx, 409, errors.CLOSED)
        assert stored.message is not None
        return stored.message

    async def _publish(self, outcomes: Sequence[Stored]) -> None:
        for outcome in outcomes:
            message = outcome.message
            assert message is not None
            await self.ctx.publish(
                MessageCreated(
                    conversation_id=message.conversation_id,
                    message_id=message.id,
                    seq=message.seq,
                    channel=outcome.channel,
                    author_kind=message.author.kind,
                    author_id=message.author.id,
                    author_name=message.author.name,
                    text=message.text,
                    created_at=message.created_at,
                    client_id=message.client_id,
                    attachments=message.attachments,
                )
            )

    # --- read receipts and attachments -------------------------------------------------------

    async def mark_read(self, who: Participant, conversation_id: str, seq: int) -> int:
        return await self.ctx.transaction(
            store.mark_read, conversation_id, who.kind, who.id, max(0, seq)
        )

    async def receipts(self, conversation_id: str) -> list[dict[str, object]]:
        return await self.ctx.transaction(store.receipts, conversation_id, read_only=True)

    async def attach(
        self, who: Participant, conversation_id: str, filename: str, content_type: str, data: bytes
    ) -> str:
        """Store an upload for the conversation; its id goes with the message that shows it."""
        limit = self.settings.max_attachment_bytes
        if len(data) > limit:
            raise errors.refusal(self.ctx, 413, errors.FILE_TOO_LARGE, limit=limit)
        await self.visible(who, conversation_id)
        key = secrets.token_urlsafe(32)
        return await self.ctx.transaction(
            store.store_attachment, conversation_id, filename, content_type, data, key
        )
