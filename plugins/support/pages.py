"""The agents' console under `/support/`: tickets with filters, and a ticket with its
conversation, ranked canned responses and a reply box; and the customers' rating page.

The console needs `support.agent`; it reads through the same service as the API, renders
on the server (`page_templates.py`), and its script posts to the API with the session's
CSRF token, which the page carries.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from mindframe.sdk.auth import Identity, authenticator_of
from mindframe.sdk.chat import ChatError
from mindframe.sdk.http import MAX_ROW_ID, RowId
from mindframe.sdk.i18n import N_

from . import teams
from .access import AGENT
from .page_templates import render
from .replies import Replies
from .service import SupportService
from .states import PRIORITIES, PRIORITY_NAMES, STATUS_NAMES, STATUSES
from .tickets import Filters

NO_TICKET = N_("There is no ticket {ticket_id}.")
PAGE_SIZE = 100


def html(text: str, status: int = 200) -> Response[str]:
    return Response(text, media_type=MediaType.HTML, status_code=status)


async def csrf_of(request: Request) -> str:
    authenticator = authenticator_of(request)
    token = await authenticator.csrf_token(request) if authenticator is not None else None
    return token or ""


@get("/", guards=[AGENT], include_in_schema=False)
async def tickets_page(
    request: Request,
    support_service: NamedDependency[SupportService],
    identity: NamedDependency[Identity],
    status: Annotated[str | None, QueryParameter(max_length=16)] = None,
    priority: Annotated[str | None, QueryParameter(max_length=16)] = None,
    assignee: Annotated[str | None, QueryParameter(max_length=200)] = None,
    team: Annotated[int | None, QueryParameter(ge=1, le=MAX_ROW_ID)] = None,
    label: Annotated[str | None, QueryParameter(max_length=64)] = None,
    text: Annotated[str | None, QueryParameter(name="q", max_length=200)] = None,
) -> Response[str]:
    filters = Filters(
        status=status if status in STATUSES else None,
        priority=priority if priority in PRIORITIES else None,
        assignee_id=identity.user_id if assignee == "me" else (assignee or None),
        unassigned=assignee == "none",
        team_id=team,
        label=label or None,
        text=text or None,
        limit=PAGE_SIZE,
    )
    found = await support_service.find(filters)
    all_teams = await support_service.ctx.transaction(teams.all_teams, read_only=True)
    return html(
        render(
            support_service.ctx,
            request,
            "tickets.html",
            tickets=found,
            teams=all_teams,
            chosen={
                "status": filters.status or "",
                "priority": filters.priority or "",
                "assignee": assignee or "",
                "team": team,
                "label": label or "",
                "q": text or "",
            },
            statuses=STATUS_NAMES,
            priorities=PRIORITY_NAMES,
            me=identity.user_id,
        )
    )


@get("/tickets/{ticket_id:int}", guards=[AGENT], include_in_schema=False)
async def ticket_page(
    request: Request,
    ticket_id: FromPath[RowId],
    support_service: NamedDependency[SupportService],
    support_replies: NamedDependency[Replies],
    identity: NamedDependency[Identity],
) -> Response[str]:
    ctx = support_service.ctx
    row = await support_service.ticket(ticket_id)
    if row is None:
        return html(
            render(
                ctx,
                request,
                "missing.html",
                text=ctx.gettext(NO_TICKET).format(ticket_id=ticket_id),
            ),
            404,
        )
    chat = support_service.chat
    try:
        messages = await chat.messages(row["conversation_id"], limit=500)
        name = await support_service.agent_name(identity.user_id, identity.username)
        suggestions = await support_replies.suggestions(row, name)
    except (ChatError, LookupError):
        messages, suggestions = [], []
    return html(
        render(
            ctx,
            request,
            "ticket.html",
            ticket=row,
            messages=messages,
            suggestions=suggestions,
            statuses=STATUS_NAMES,
            priorities=PRIORITY_NAMES,
            moves=[s for s in STATUSES if s != row["status"]],
            csrf=await csrf_of(request),
            me=identity.user_id,
        )
    )


@get("/csat/{token:str}", include_in_schema=False)
async def rating_page(
    request: Request, token: FromPath[str], support_service: NamedDependency[SupportService]
) -> Response[str]:
    return html(render(support_service.ctx, request, "csat.html", token=token))


def page_handlers() -> list[Any]:
    return [tickets_page, ticket_page, rating_page]
