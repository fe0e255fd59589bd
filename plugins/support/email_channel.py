"""E-mail tickets: mail the inbound listener accepted opens a ticket or continues one, and
agents' replies in an e-mail conversation go out through the `Mailer`, threaded.

A received message belongs to the ticket whose thread holds its In-Reply-To or one of its
References; otherwise (or when that ticket is closed) it opens a conversation on the chat
plugin's "email" channel and a ticket for it. Either way its text is posted there as the
customer's message, under a client id made from its Message-ID, so a redelivered
`mail.received` stores nothing twice.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mindframe.sdk.chat import Author, ChatMessage, Contact
from mindframe.sdk.mail import Mailer, MailError, MailReceived

from .db import now
from .email_threads import record, thread_of, ticket_of_thread
from .models import teams
from .service import SupportService
from .tickets import Row

CHANNEL = "email"
MAX_CLIENT_ID = 200


def own_message_id(event: MailReceived) -> str:
    """The message's Message-ID, or one made from its inbox id when it had none."""
    return event.message_id or f"<{event.id}@inbox.mindframe>"


def team_for(session: Session, recipients: list[str]) -> int | None:
    """The team whose address the mail was sent to, if any."""
    addresses = [address.lower() for address in recipients]
    if not addresses:
        return None
    query = select(teams.c.id).where(func.lower(teams.c.mail_address).in_(addresses))
    return session.execute(query.order_by(teams.c.id)).scalars().first()


def reply_subject(subject: str | None) -> str:
    subject = (subject or "").strip()
    return subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()


class EmailChannel:
    def __init__(self, service: SupportService) -> None:
        self._service = service
        self._ctx = service.ctx

    @staticmethod
    def files(channel: str, external_ref: str | None) -> bool:
        """Whether this channel opens the ticket of a conversation itself: the e-mail
        conversations it opened (their `external_ref` is the first Message-ID)."""
        return channel == CHANNEL and external_ref is not None

    async def received(self, event: MailReceived) -> None:
        """File one received message in its ticket (opening one when it starts a thread)."""
        own_id = own_message_id(event)
        earlier = [i for i in (event.in_reply_to, *reversed(event.references)) if i]
        ticket_id = await self._ctx.transaction(
            ticket_of_thread, [own_id, *earlier], read_only=True
        )
        ticket = await self._service.ticket(ticket_id) if ticket_id is not None else None
        if ticket is None or ticket["status"] == "closed":
            ticket = await self._open(event, own_id)
        await self._ctx.transaction(record, own_id, ticket["id"], "in", now())
        conversation = await self._service.chat.conversation(ticket["conversation_id"])
        assert conversation is not None
        await self._service.chat.post_message(
            conversation.id,
            event.text.strip() or event.subject,
            author=Author.visitor(conversation.visitor_id, event.sender_name or None),
            client_id=f"mail:{own_id}"[:MAX_CLIENT_ID],
        )

    async def _open(self, event: MailReceived, own_id: str) -> Row:
        conversation = await self._service.chat.open_conversation(
            CHANNEL,
            contact=Contact(email=event.sender, name=event.sender_name or None),
            subject=event.subject,
            external_ref=own_id,
        )
        team_id = await self._ctx.transaction(team_for, list(event.to), read_only=True)
        return await self._service.open_ticket(
            conversation.id,
            CHANNEL,
            visitor_id=conversation.visitor_id,
            customer_email=event.sender,
            customer_name=event.sender_name or None,
            subject=event.subject,
            locale=conversation.locale,
            team_id=team_id,
        )

    async def mail_reply(self, ticket: Row, message: ChatMessage) -> str | None:
        """Queue an agent's message of an e-mail ticket to the customer, as a reply in the
        ticket's thread (In-Reply-To the customer's latest message, References the thread);
        its Message-ID, to join the thread so their answer finds the ticket, or None when
        nothing goes out (not an e-mail ticket, no address, refused as bad input). Raises
        `ServiceError` while there is no mail plugin: the message waits to be handled.

        Queued under a key made from the chat message's id: handled again (a crash between
        queueing and recording it), it queues nothing new and answers with the first."""
        if ticket["channel"] != CHANNEL or not ticket["customer_email"]:
            return None
        mailer = self._ctx.resolve(Mailer)
        thread = await self._ctx.transaction(thread_of, ticket["id"], read_only=True)
        try:
            queued = await mailer.send(
                [ticket["customer_email"]],
                subject=reply_subject(ticket["subject"]),
                text=message.text,
                locale=ticket["locale"],
                in_reply_to=thread.answering,
                references=thread.references(),
                idempotency_key=f"support:reply:{message.id}",
            )
        except MailError as error:
            self._ctx.log.warning("support: reply of ticket %s not mailed: %s", ticket["id"], error)
            return None
        return queued.message_id
