"""What a chat message does to its ticket, and catching up on those this plugin missed.

The bus does not keep `chat.message.created`: a message stored while this plugin was
disabled, reloading, or just before a crash is never heard. So each ticket records the seq
of the last message handled (`handled.py`), and the `catch_up` job (at every start, then
every `catch_up_interval` seconds) reads the messages after it through
`ChatService.messages` and handles them in order. A live event that finds a gap before it
closes the gap first; one already handled does nothing.
"""

from __future__ import annotations

from mindframe.sdk import ServiceError
from mindframe.sdk.chat import Author, ChatMessage, MessageCreated

from . import handled
from .db import now
from .email_channel import EmailChannel
from .service import SupportService
from .tickets import Row

PAGE = 500
"""Tickets, and messages of one conversation, read at a time."""


def as_message(event: MessageCreated) -> ChatMessage:
    author = Author(event.author_kind, event.author_id, event.author_name)
    return ChatMessage(
        event.message_id,
        event.conversation_id,
        event.seq,
        author,
        event.text,
        event.created_at,
        event.client_id,
        event.attachments,
    )


class ChatMessages:
    """Handles each chat message of a ticket once, heard live or caught up on."""

    def __init__(self, service: SupportService, mail: EmailChannel) -> None:
        self._service = service
        self._ctx = service.ctx
        self.mail = mail

    async def heard(self, event: MessageCreated) -> None:
        """The live event: handled unless it was, after the messages before it if some
        were missed."""
        row = await self.ticket(event.conversation_id)
        if row is None:
            return
        done = row["handled_seq"]
        if done is not None and event.seq > done + 1:
            await self.catch_up_ticket(row, event.seq)
        elif done is None or event.seq > done:
            await self.handle(row, as_message(event))

    async def ticket(self, conversation_id: str) -> Row | None:
        """The conversation's ticket, opened from what the chat plugin knows if this plugin
        has not heard of it yet (its messages can overtake the event that announces it)."""
        row = await self._service.ticket_of(conversation_id)
        if row is not None:
            return row
        conversation = await self._service.chat.conversation(conversation_id)
        if conversation is None:
            return None
        return await self._service.open_ticket(
            conversation.id,
            conversation.channel,
            visitor_id=conversation.visitor_id,
            subject=conversation.subject,
            locale=conversation.locale,
        )

    async def catch_up(self) -> None:
        """Handle, in order, every message after its ticket's `handled_seq` in the
        conversations of tickets not closed (the `catch_up` job). A ticket that fails
        holds back no other; the first failure is raised at the end, for the job's health."""
        after_id = 0
        failure: Exception | None = None
        while page := await self._ctx.transaction(
            handled.not_closed, after_id, PAGE, read_only=True
        ):
            after_id = page[-1]["id"]
            newest = await self._service.chat.last_seqs([row["conversation_id"] for row in page])
            for row in page:
                last_seq = newest.get(row["conversation_id"], 0)
                if row["handled_seq"] is None:
                    await self._ctx.transaction(handled.start_at, row["conversation_id"], last_seq)
                elif last_seq > row["handled_seq"]:
                    try:
                        await self.catch_up_ticket(row, last_seq)
                    except Exception as error:
                        self._ctx.log.exception("support: ticket %s not caught up", row["id"])
                        failure = failure or error
        if failure is not None:
            raise failure

    async def catch_up_ticket(self, row: Row, up_to: int) -> None:
        """Handle the conversation's messages after `row`'s `handled_seq` up to `up_to`."""
        after = row["handled_seq"] or 0
        while after < up_to:
            page = await self._service.chat.messages(
                row["conversation_id"], after=after, limit=PAGE
            )
            for message in page:
                if message.seq > up_to or not await self.handle(row, message):
                    return
            if not page:
                return
            after = page[-1].seq

    async def handle(self, row: Row, message: ChatMessage) -> bool:
        """Make the message's change to its ticket, once; False when it must wait (an
        e-mail reply while there is no mail plugin), to be handled by a later catch-up."""
        author = message.author
        conversation_id, seq = message.conversation_id, message.seq
        if author.kind == "visitor":
            written = message.created_at.timestamp()
            moved = await self._ctx.transaction(
                handled.customer_wrote, conversation_id, seq, now(), written
            )
            if moved is not None:
                await self._service.moved(moved, moved["status"], by=None)
            return True
        if author.kind != "agent" or not author.id:
            await self._ctx.transaction(handled.claim, conversation_id, seq)
            return True
        try:
            message_id = await self.mail.mail_reply(row, message)
        except ServiceError:
            self._ctx.log.warning("support: no mail plugin to send ticket %s's reply", row["id"])
            return False
        mailed = (message_id, message.id) if message_id is not None else None
        at = message.created_at.timestamp()
        await self._ctx.transaction(
            handled.agent_replied, conversation_id, seq, author.id, at, mailed
        )
        return True
