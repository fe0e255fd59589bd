"""Agents' replies: canned responses ranked for a ticket's conversation, in its language,
with their placeholders filled, and replies posted into the conversation as the agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mindframe.sdk.chat import Author, CannedResponse, ChatMessage, Conversation

from . import canned_store
from .canned import fill
from .db import now
from .ranking import active_ranker
from .service import SupportService
from .tickets import Row

RECENT = 20
"""Messages of the conversation a ranker sees."""


@dataclass(frozen=True)
class Suggestion:
    """A canned response as ranked for a ticket: `text` filled in, `template` as stored."""

    id: str
    shortcut: str
    text: str
    template: str
    locale: str | None
    uses: int


class UnknownResponse(LookupError):
    """No canned response has that id in that language."""


def placeholder_values(
    ticket: Row, recent: Sequence[ChatMessage], agent_name: str | None
) -> dict[str, Any]:
    visitor_name = ticket.get("customer_name")
    for message in reversed(recent):
        if message.author.kind == "visitor" and message.author.name:
            visitor_name = visitor_name or message.author.name
            break
    return {
        "visitor_name": visitor_name,
        "agent_name": agent_name,
        "ticket_id": ticket["id"],
        "subject": ticket.get("subject"),
    }


class Replies:
    def __init__(self, service: SupportService) -> None:
        self._service = service
        self._ctx = service.ctx

    async def _context(
        self, ticket: Row, locale: str | None
    ) -> tuple[Conversation, list[ChatMessage], list[CannedResponse]]:
        chat = self._service.chat
        conversation = await chat.conversation(ticket["conversation_id"])
        if conversation is None:
            raise LookupError(ticket["conversation_id"])
        after = max(0, conversation.last_seq - RECENT)
        recent = await chat.messages(conversation.id, after=after, limit=RECENT)
        l10n = self._service.localizer(locale or ticket["locale"] or conversation.locale)
        candidates = await self._ctx.transaction(canned_store.candidates, l10n, read_only=True)
        return conversation, recent, candidates

    async def suggestions(
        self, ticket: Row, agent_name: str | None, locale: str | None = None
    ) -> list[Suggestion]:
        """The canned responses for the ticket, best first (by the active ranker)."""
        conversation, recent, candidates = await self._context(ticket, locale)
        ranked = await active_ranker(self._ctx).rank(conversation, recent, candidates)
        values = placeholder_values(ticket, recent, agent_name)
        return [
            Suggestion(r.id, r.shortcut, fill(r.text, values), r.text, r.locale, r.uses)
            for r in ranked
        ]

    async def reply(
        self,
        ticket: Row,
        agent_id: str,
        agent_name: str | None,
        *,
        text: str | None = None,
        canned_id: str | None = None,
        locale: str | None = None,
        client_id: str | None = None,
    ) -> ChatMessage:
        """Post `text`, or the canned response `canned_id` filled in, as the agent; a
        canned one is counted and the ranker hears it was chosen."""
        conversation, recent, candidates = await self._context(ticket, locale)
        response = None
        if canned_id is not None:
            response = next((c for c in candidates if c.id == canned_id), None)
            if response is None:
                raise UnknownResponse(canned_id)
            text = fill(response.text, placeholder_values(ticket, recent, agent_name))
        assert text is not None
        message = await self._service.chat.post_message(
            conversation.id, text, author=Author.agent(agent_id, agent_name), client_id=client_id
        )
        if response is not None:
            await self._ctx.transaction(
                canned_store.record_use, response.id, ticket["id"], agent_id, now()
            )
            await active_ranker(self._ctx).chosen(conversation, response)
        return message
