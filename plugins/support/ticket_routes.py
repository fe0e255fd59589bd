"""HTTP for agents: tickets, taking and assigning them, their status, and replying with
canned responses, under `/api/support/tickets`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

import msgspec
from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody, QueryParameter

from mindframe.sdk.auth import Identity
from mindframe.sdk.chat import ChatError
from mindframe.sdk.http import MAX_ROW_ID, RowId
from mindframe.sdk.i18n import N_

from . import teams
from .access import AGENT, MANAGE
from .claiming import Taken
from .replies import Replies, UnknownResponse
from .service import SupportService
from .states import STATUS_NAMES, Status, StatusMoveRefused
from .tickets import Filters
from .views import TicketView, refusal, ticket_view

NO_TICKET = N_("there is no ticket {ticket_id}")
HELD = N_("ticket {ticket_id} is already taken by {holder}")
AT_LIMIT = N_("you already hold {limit} open tickets, your limit; resolve one first")
INACTIVE = N_("ticket {ticket_id} is resolved or closed: only open or pending ones can be taken")
NOT_YOURS = N_("ticket {ticket_id} is not yours to give back")
BAD_MOVE = N_("a {current} ticket cannot become {wanted}")
NO_RESPONSE = N_("there is no canned response {canned_id} in this ticket's language")
NO_TEXT = N_("send either 'text' or 'canned_id'")
NO_TEAM = N_("there is no team {team_id}")

Priority = Literal["low", "normal", "high", "urgent"]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: Status


class Assignment(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None


class TicketChange(msgspec.Struct, forbid_unknown_fields=True):
    priority: Priority | None = None
    labels: Annotated[list[Label], msgspec.Meta(max_length=20)] | None = None
    team_id: int | None = None
    no_team: bool = False
    """True: take the ticket out of its team, into the general queue."""


class Reply(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)] | None = None
    canned_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=35)] | None = None
    client_id: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class SentMessage(msgspec.Struct):
    id: str
    conversation_id: str
    seq: int
    text: str


class SuggestionView(msgspec.Struct):
    id: str
    shortcut: str
    text: str
    template: str
    locale: str | None
    uses: int


async def found(service: SupportService, ticket_id: int) -> dict[str, Any]:
    row = await service.ticket(ticket_id)
    if row is None:
        raise refusal(service, 404, NO_TICKET, ticket_id=ticket_id)
    return row


@get("/tickets", guards=[AGENT], summary="Tickets, the most recently active first; filter them")
async def list_tickets(
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
    status: Annotated[Status | None, QueryParameter()] = None,
    priority: Annotated[Priority | None, QueryParameter()] = None,
    assignee: Annotated[
        str | None, QueryParameter(description="an agent's id, 'me' or 'none'", max_length=200)
    ] = None,
    team: Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)] = None,
    label: Annotated[str | None, QueryParameter(max_length=64)] = None,
    channel: Annotated[str | None, QueryParameter(max_length=32)] = None,
    text: Annotated[str | None, QueryParameter(name="q", max_length=200)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> list[TicketView]:
    filters = Filters(
        status=status,
        priority=priority,
        assignee_id=identity.user_id if assignee == "me" else assignee,
        unassigned=assignee == "none",
        team_id=team,
        label=label,
        channel=channel,
        text=text,
        limit=limit,
        offset=offset,
    )
    return [ticket_view(row) for row in await support_service.find(filters)]


@get("/tickets/{ticket_id:int}", guards=[AGENT], summary="One ticket")
async def show_ticket(
    ticket_id: FromPath[RowId], support_service: NamedDependency[SupportService]
) -> TicketView:
    return ticket_view(await found(support_service, ticket_id))


async def claimed(
    service: SupportService,
    ticket_id: int,
    taken: Taken,
    refusals: dict[str, HTTPException],
) -> TicketView:
    """The ticket after a take, give-back or assignment; or, where the claim did not happen,
    404 for a missing ticket and the caller's own refusal for any other result."""
    if taken.result == "missing":
        raise refusal(service, 404, NO_TICKET, ticket_id=ticket_id)
    if taken.result in refusals:
        raise refusals[taken.result]
    return ticket_view(await found(service, ticket_id))


@post(
    "/tickets/{ticket_id:int}/take",
    status_code=200,
    guards=[AGENT],
    summary="Take a ticket nobody holds (409 when someone was quicker, or you are at your limit)",
)
async def take_ticket(
    ticket_id: FromPath[RowId],
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
) -> TicketView:
    limit = await support_service.limit_of(identity.user_id)
    taken = await support_service.take(ticket_id, identity.user_id, by=identity.user_id)
    held = refusal(support_service, 409, HELD, ticket_id=ticket_id, holder=taken.holder)
    at_limit = refusal(support_service, 409, AT_LIMIT, limit=limit)
    inactive = refusal(support_service, 409, INACTIVE, ticket_id=ticket_id)
    refusals = {"held": held, "at_limit": at_limit, "inactive": inactive}
    return await claimed(support_service, ticket_id, taken, refusals)


@post(
    "/tickets/{ticket_id:int}/give-back",
    status_code=200,
    guards=[AGENT],
    summary="Give a ticket you hold back to its queue",
)
async def give_back_ticket(
    ticket_id: FromPath[RowId],
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
) -> TicketView:
    taken = await support_service.give_back(ticket_id, identity.user_id, by=identity.user_id)
    not_yours = refusal(support_service, 409, NOT_YOURS, ticket_id=ticket_id)
    return await claimed(support_service, ticket_id, taken, {"held": not_yours})


@post(
    "/tickets/{ticket_id:int}/assign",
    status_code=200,
    guards=[MANAGE],
    summary="Give a ticket to an agent, whoever holds it (agent_id null: back to the queue)",
)
async def assign_ticket(
    ticket_id: FromPath[RowId],
    data: JSONBody[Assignment],
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
) -> TicketView:
    taken = await support_service.assign(ticket_id, data.agent_id, by=identity.user_id)
    return await claimed(support_service, ticket_id, taken, refusals={})


@post(
    "/tickets/{ticket_id:int}/status",
    status_code=200,
    guards=[AGENT],
    summary="Move a ticket: open, pending, resolved (asks for a rating), closed (final)",
)
async def change_status(
    ticket_id: FromPath[RowId],
    data: JSONBody[StatusChange],
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
) -> TicketView:
    try:
        row = await support_service.move(ticket_id, data.status, by=identity.user_id)
    except LookupError:
        raise refusal(support_service, 404, NO_TICKET, ticket_id=ticket_id) from None
    except StatusMoveRefused as refused:
        names = {s: support_service.ctx.gettext(n).lower() for s, n in STATUS_NAMES.items()}
        raise refusal(
            support_service,
            409,
            BAD_MOVE,
            current=names[refused.current],
            wanted=names[refused.wanted],
        ) from None
    return ticket_view(row)


@patch("/tickets/{ticket_id:int}", guards=[AGENT], summary="Change priority, labels or team")
async def change_ticket(
    ticket_id: FromPath[RowId],
    data: JSONBody[TicketChange],
    support_service: NamedDependency[SupportService],
) -> TicketView:
    await found(support_service, ticket_id)
    if data.priority is not None:
        await support_service.reprioritise(ticket_id, data.priority)
    values: dict[str, Any] = {}
    if data.labels is not None:
        values["labels"] = sorted(set(data.labels))
    if data.no_team:
        values["team_id"] = None
    elif data.team_id is not None:
        if not await support_service.ctx.transaction(
            teams.team_exists, data.team_id, read_only=True
        ):
            raise refusal(support_service, 400, NO_TEAM, team_id=data.team_id)
        values["team_id"] = data.team_id
    if values:
        await support_service.change(ticket_id, **values)
    return ticket_view(await found(support_service, ticket_id))


@get(
    "/tickets/{ticket_id:int}/canned",
    guards=[AGENT],
    summary="Canned responses for this ticket, best first, in its language, filled in",
)
async def ticket_suggestions(
    ticket_id: FromPath[RowId],
    support_service: NamedDependency[SupportService],
    support_replies: NamedDependency[Replies],
    identity: NamedDependency[Identity],
    locale: Annotated[str | None, QueryParameter(max_length=35)] = None,
) -> list[SuggestionView]:
    row = await found(support_service, ticket_id)
    name = await support_service.agent_name(identity.user_id, identity.username)
    found_ = await support_replies.suggestions(row, name, locale)
    return [SuggestionView(**asdict(s)) for s in found_]


@post(
    "/tickets/{ticket_id:int}/reply",
    guards=[AGENT],
    summary="Reply in the ticket's conversation: your text, or a canned response filled in",
)
async def reply_to_ticket(
    ticket_id: FromPath[RowId],
    data: JSONBody[Reply],
    support_service: NamedDependency[SupportService],
    support_replies: NamedDependency[Replies],
    identity: NamedDependency[Identity],
) -> SentMessage:
    row = await found(support_service, ticket_id)
    if (data.text is None) == (data.canned_id is None):
        raise refusal(support_service, 400, NO_TEXT)
    try:
        message = await support_replies.reply(
            row,
            identity.user_id,
            await support_service.agent_name(identity.user_id, identity.username),
            text=data.text,
            canned_id=data.canned_id,
            locale=data.locale,
            client_id=data.client_id,
        )
    except UnknownResponse:
        raise refusal(support_service, 404, NO_RESPONSE, canned_id=data.canned_id) from None
    except ChatError as error:  # an empty or too long text, a closed conversation
        raise HTTPException(status_code=error.status, detail=str(error)) from None
    return SentMessage(message.id, message.conversation_id, message.seq, message.text)


ROUTES = [
    list_tickets,
    show_ticket,
    take_ticket,
    give_back_ticket,
    assign_ticket,
    change_status,
    change_ticket,
    ticket_suggestions,
    reply_to_ticket,
]
