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

from .auto_assign import AutoAssigner
from .chat_messages import ChatMessages
from .email_channel import EmailChannel
from .service import SupportService
from .states import StatusMoveRefused


def subscribe(
    ctx: PluginContext,
    service: SupportService,
    assigner: AutoAssigner,
    mail: EmailChannel,
    messages: ChatMessages,
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

    async def presence_changed(event: AgentPresenceChanged) -> None:
        await assigner.presence_changed(event.agent_id, event.status)

    ctx.subscribe(ConversationCreated.topic, conversation_created, durable=True)
    ctx.subscribe(ConversationClosed.topic, conversation_closed, durable=True)
    ctx.subscribe(ConversationAssigned.topic, conversation_assigned, durable=True)
    ctx.subscribe(MessageCreated.topic, messages.heard)
    ctx.subscribe(AgentPresenceChanged.topic, presence_changed)
    ctx.subscribe(MailReceived.topic, mail.received, durable=True)
