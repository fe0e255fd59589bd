"""`SupportService`: tickets and who holds them, with every change announced on the bus and
mirrored onto the chat conversation. The routes, the subscriptions and the jobs go through
it (handlers: a parameter named `support_service`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from mindframe.sdk import Job, PluginContext, ServiceError
from mindframe.sdk.chat import ChatError, ChatService
from mindframe.sdk.i18n import AS_WRITTEN, Localizer, Translations

from . import claiming, tickets
from .claiming import Taken
from .db import now
from .events import TicketAssigned, TicketCreated, TicketStatusChanged
from .models import agents
from .settings import SupportSettings
from .states import Status
from .tickets import Row, SlaTargets


class SupportService:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.settings: SupportSettings = ctx.settings
        self.targets = SlaTargets(
            self.settings.first_response_minutes, self.settings.resolution_minutes
        )
        self.assignment_job: Job | None = None
        self.sla_job: Job | None = None
        self.catch_up_job: Job | None = None
        self.on_resolved: list[Any] = []
        """Called with each ticket as it is resolved (the CSAT request, `csat.py`)."""

    # --- other plugins -------------------------------------------------------------------

    @property
    def chat(self) -> ChatService:
        return self.ctx.resolve(ChatService)

    def localizer(self, locale: str | None) -> Localizer:
        """This plugin's messages in `locale` (the default one when None), or as written
        without the i18n plugin."""
        try:
            return self.ctx.resolve(Translations).localizer(self.ctx.name, locale)
        except ServiceError:
            return AS_WRITTEN

    def wake_assignment(self) -> None:
        if self.assignment_job is not None:
            self.assignment_job.wake()

    # --- reading -------------------------------------------------------------------------

    async def ticket(self, ticket_id: int) -> Row | None:
        return await self.ctx.transaction(tickets.get, ticket_id, read_only=True)

    async def ticket_of(self, conversation_id: str) -> Row | None:
        return await self.ctx.transaction(tickets.by_conversation, conversation_id, read_only=True)

    async def find(self, filters: tickets.Filters) -> list[Row]:
        return await self.ctx.transaction(tickets.find, filters, read_only=True)

    # --- opening -------------------------------------------------------------------------

    async def open_ticket(
        self, conversation_id: str, channel: str, priority: str = "normal", **customer: Any
    ) -> Row:
        """The conversation's ticket, opened (and announced, and queued) unless it exists."""
        opening = partial(tickets.open_ticket, **customer)
        row, created = await self.ctx.transaction(
            opening, conversation_id, channel, priority, self.targets, now()
        )
        if created:
            await self.ctx.publish(
                TicketCreated(
                    ticket_id=row["id"],
                    conversation_id=conversation_id,
                    channel=channel,
                    priority=priority,
                    team_id=row["team_id"],
                )
            )
            self.wake_assignment()
        return row

    # --- who holds it --------------------------------------------------------------------

    async def agent_name(self, agent_id: str, username: str | None) -> str | None:
        """What customers read as the agent's name (`{agent_name}`): the name set for them
        (`PUT /api/support/agents/{id}`), else their username."""

        def read(session: Any) -> str | None:
            query = agents.select().where(agents.c.agent_id == agent_id)
            row = session.execute(query).mappings().first()
            return row["name"] if row else None

        return await self.ctx.transaction(read, read_only=True) or username

    async def limit_of(self, agent_id: str) -> int:
        def read(session: Any) -> int | None:
            query = agents.select().where(agents.c.agent_id == agent_id)
            row = session.execute(query).mappings().first()
            return row["max_concurrent"] if row else None

        own = await self.ctx.transaction(read, read_only=True)
        return own or self.settings.max_concurrent

    async def take(self, ticket_id: int, agent_id: str, *, by: str | None = None) -> Taken:
        """Give the ticket to `agent_id` if nobody holds it and they have room: an agent
        taking it (`by` is themselves) or auto-assignment (`by` None)."""
        limit = await self.limit_of(agent_id)
        taken = await self.ctx.transaction(claiming.take, ticket_id, agent_id, limit, now())
        if taken.result == "taken":
            await self._assigned(ticket_id, taken, by)
        return taken

    async def assign(self, ticket_id: int, agent_id: str | None, *, by: str | None) -> Taken:
        """A manager gives the ticket to `agent_id` (None: back to the queue)."""
        taken = await self.ctx.transaction(claiming.assign, ticket_id, agent_id, now())
        if taken.result == "taken" and taken.previous != agent_id:
            await self._assigned(ticket_id, taken, by)
        return taken

    async def give_back(self, ticket_id: int, agent_id: str, *, by: str | None) -> Taken:
        """Return the ticket to its queue if `agent_id` holds it."""
        taken = await self.ctx.transaction(claiming.give_back, ticket_id, agent_id, now())
        if taken.result == "taken":
            await self._assigned(ticket_id, taken, by)
        return taken

    async def mirror_assignment(
        self, conversation_id: str, agent_id: str | None, by: str | None
    ) -> None:
        """The chat plugin assigned the conversation: the ticket follows (announced), unless
        it already says so (the assignment came from here)."""
        row = await self.ticket_of(conversation_id)
        if row is None or row["assignee_id"] == agent_id:
            return
        taken = await self.ctx.transaction(claiming.assign, row["id"], agent_id, now())
        if taken.result == "taken":
            await self._announce_assigned(row["id"], taken, by)

    async def _assigned(self, ticket_id: int, taken: Taken, by: str | None) -> None:
        await self._announce_assigned(ticket_id, taken, by)
        assert taken.conversation_id is not None
        try:
            await self.chat.assign(taken.conversation_id, taken.holder, by=by)
        except ChatError as error:  # the conversation is gone: the ticket still says who
            self.ctx.log.warning("support: chat refused assigning %s: %s", ticket_id, error)
        if taken.holder is None:
            self.wake_assignment()

    async def _announce_assigned(self, ticket_id: int, taken: Taken, by: str | None) -> None:
        assert taken.conversation_id is not None
        await self.ctx.publish(
            TicketAssigned(
                ticket_id=ticket_id,
                conversation_id=taken.conversation_id,
                agent_id=taken.holder,
                previous_agent_id=taken.previous,
                by=by,
            )
        )

    # --- status, priority, labels --------------------------------------------------------

    async def move(
        self, ticket_id: int, status: Status, *, by: str | None, close_chat: bool = True
    ) -> Row:
        """Change the status (see `states.py`); raises `StatusMoveRefused`, `LookupError`.
        Closing the ticket closes its conversation too (unless the chat closed it)."""
        row = await self.ctx.transaction(tickets.move, ticket_id, status, by, now())
        await self.moved(row, status, by=by, close_chat=close_chat)
        return row

    async def moved(
        self, row: Row, status: Status, *, by: str | None, close_chat: bool = True
    ) -> None:
        """What follows a committed move (`tickets.move`'s row): the event, the chat, CSAT."""
        ticket_id = row["id"]
        await self.ctx.publish(
            TicketStatusChanged(
                ticket_id=ticket_id,
                conversation_id=row["conversation_id"],
                status=status,
                previous=row["previous"],
                by=by,
            )
        )
        if status == "closed" and close_chat:
            try:
                await self.chat.close(row["conversation_id"], by=by)
            except ChatError as error:
                self.ctx.log.info("support: conversation already gone or closed: %s", error)
        if status == "resolved":
            for hear in self.on_resolved:
                await hear(row)
        if status in ("resolved", "closed"):
            self.wake_assignment()  # the agent has room again

    async def reprioritise(self, ticket_id: int, priority: str) -> Row:
        row = await self.ctx.transaction(tickets.reprioritise, ticket_id, priority, self.targets)
        if self.sla_job is not None:
            self.sla_job.wake()
        return row

    async def change(self, ticket_id: int, **values: Any) -> Row:
        row = await self.ctx.transaction(partial(tickets.change, **values), ticket_id, now())
        if "team_id" in values and row["assignee_id"] is None:
            self.wake_assignment()
        return row
