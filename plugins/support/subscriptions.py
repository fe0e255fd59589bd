"""What the plugin hears: the chat plugin's conversations, messages and agents' presence,
and the mail plugin's received mail; each turned into a change of a ticket."""

from __future__ import annotations

from contextlib import suppress

from mindframe.sdk import PluginContext
from mindframe.sdk.chat import (
    AgentPresenceChanged,
    ConversationAssigned,
    ConversationClosed,
    ConversationCreated,
    MessageCreated,
)
from mindframe.sdk.mail import MailReceived

from . import tickets
from .auto_assign import AutoAssigner
from .db import now
from .email_channel import EmailChannel
from .service import SupportService
from .states import StatusMoveRefused, after_customer_wrote
from .tickets import Row


async def ensure_ticket(service: SupportService, conversation_id: str) -> Row | None:
    """The conversation's ticket, opened from what the chat plugin knows if this plugin has
    not heard of it yet (its messages can overtake the event that announces it)."""
    row = await service.ticket_of(conversation_id)
    if row is not None:
        return row
    conversation = await service.chat.conversation(conversation_id)
    if conversation is None:
        return None
    return await service.open_ticket(
        conversation.id,
        conversation.channel,
        visitor_id=conversation.visitor_id,
        subject=conversation.subject,
        locale=conversation.locale,
    )


def subscribe(
    ctx: PluginContext, service: SupportService, assigner: AutoAssigner, mail: EmailChannel
) -> None:
    async def conversation_created(event: ConversationCreated) -> None:
        if mail.files(event.channel, event.external_ref):
            return  # its mail opens the ticket, with the customer and team it knows
        await service.open_ticket(
            event.conversation_id,
            event.channel,
            visitor_id=event.visitor_id,
            subject=event.subject,
            locale=event.locale,
        )

    async def conversation_closed(event: ConversationClosed) -> None:
        row = await service.ticket_of(event.conversation_id)
        if row is None or row["status"] == "closed":
            return
        with suppress(StatusMoveRefused):  # closed meanwhile by someone else
            await service.move(row["id"], "closed", by=event.closed_by, close_chat=False)

    async def conversation_assigned(event: ConversationAssigned) -> None:
        await service.mirror_assignment(event.conversation_id, event.agent_id, event.assigned_by)

    async def message_created(event: MessageCreated) -> None:
        if event.author_kind == "system":
            return
        row = await ensure_ticket(service, event.conversation_id)
        if row is None:
            return
        at = event.created_at.timestamp()
        if event.author_kind == "agent" and event.author_id:
            await ctx.transaction(
                tickets.first_response, event.conversation_id, event.author_id, at
            )
            await mail.agent_wrote(event)
            return
        await ctx.transaction(tickets.touch, event.conversation_id, now())
        reopened = after_customer_wrote(row["status"])
        if reopened is not None:
            with suppress(StatusMoveRefused):
                await service.move(row["id"], reopened, by=None)

    async def presence_changed(event: AgentPresenceChanged) -> None:
        await assigner.presence_changed(event.agent_id, event.status)

    ctx.subscribe(ConversationCreated.topic, conversation_created, durable=True)
    ctx.subscribe(ConversationClosed.topic, conversation_closed, durable=True)
    ctx.subscribe(ConversationAssigned.topic, conversation_assigned, durable=True)
    ctx.subscribe(MessageCreated.topic, message_created)
    ctx.subscribe(AgentPresenceChanged.topic, presence_changed)
    ctx.subscribe(MailReceived.topic, mail.received, durable=True)
