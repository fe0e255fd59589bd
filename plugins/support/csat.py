"""Customer satisfaction: asking for a rating when a ticket is resolved, and taking it.

The ticket's `csat_token` (made when it is first resolved) is the customer's key to rate it,
through the link they get: by mail for an e-mail ticket, as a message in the conversation
otherwise. One rating per ticket, 1 to 5 with an optional comment, counted for the agent
who resolved it and the ticket's team.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from mindframe.sdk import ServiceError
from mindframe.sdk.chat import Author, ChatError
from mindframe.sdk.i18n import N_
from mindframe.sdk.mail import Mailer, MailError

from . import tickets
from .db import insert_if_absent, now
from .email_threads import record, thread_of
from .events import CsatReceived
from .models import ratings
from .service import SupportService
from .tickets import Row

MAIL_TEMPLATES = Path(__file__).parent / "templates" / "mail"
ASK_IN_CHAT = N_("How did we do? Rate this conversation from 1 to 5: {link}")
RateResult = Literal["rated", "unknown", "not_resolved", "already"]


def rate(
    session: Session, token: str, score: int, comment: str | None, at: float
) -> tuple[RateResult, Row | None]:
    ticket = tickets.by_csat_token(session, token)
    if ticket is None:
        return "unknown", None
    if ticket["status"] not in ("resolved", "closed"):
        return "not_resolved", ticket
    rating = {
        "ticket_id": ticket["id"],
        "score": score,
        "comment": comment or None,
        "agent_id": ticket["resolved_by"] or ticket["assignee_id"],
        "team_id": ticket["team_id"],
        "rated_at": at,
    }
    if not insert_if_absent(session, ratings, rating):
        return "already", ticket
    return "rated", {**ticket, "rating": rating}


class Csat:
    def __init__(self, service: SupportService) -> None:
        self._service = service
        self._ctx = service.ctx
        self._templates_with: Mailer | None = None

    def link(self, token: str) -> str:
        return f"{self._service.settings.public_url.rstrip('/')}/support/csat/{token}"

    def mailer(self) -> Mailer | None:
        """The mail plugin's `Mailer`, with the rating request template registered (once per
        mailer: a reloaded mail plugin has forgotten it), or None without a mail plugin."""
        try:
            mailer = self._ctx.resolve(Mailer)
        except ServiceError:
            return None
        if self._templates_with is not mailer:
            self._ctx.on_unload(mailer.register_templates(MAIL_TEMPLATES, self._ctx.name))
            self._templates_with = mailer
        return mailer

    async def ask(self, ticket: Row) -> None:
        """Ask the customer for a rating of the resolved ticket, unless they gave one."""
        link = self.link(ticket["csat_token"])
        mailer = self.mailer()
        if ticket["channel"] == "email" and ticket["customer_email"]:
            if mailer is None or not self._service.settings.csat_by_mail:
                return
            thread = await self._ctx.transaction(thread_of, ticket["id"], read_only=True)
            try:
                queued = await mailer.send(
                    [ticket["customer_email"]],
                    template="support_csat",
                    context={
                        "link": link,
                        "ticket_id": ticket["id"],
                        "subject": ticket["subject"] or "",
                    },
                    locale=ticket["locale"],
                    in_reply_to=thread.answering,
                    references=thread.references(),
                )
            except MailError as error:
                self._ctx.log.warning("support: no rating request for %s: %s", ticket["id"], error)
                return
            await self._ctx.transaction(record, queued.message_id, ticket["id"], "out", now())
            return
        text = self._service.localizer(ticket["locale"]).gettext(ASK_IN_CHAT).format(link=link)
        try:
            await self._service.chat.post_message(
                ticket["conversation_id"],
                text,
                author=Author.system(),
                client_id=f"support-csat-{ticket['id']}",
            )
        except ChatError as error:
            self._ctx.log.info("support: no rating request in chat for %s: %s", ticket["id"], error)

    async def rate(self, token: str, score: int, comment: str | None) -> tuple[RateResult, Any]:
        result, ticket = await self._ctx.transaction(rate, token, score, comment, now())
        if result == "rated" and ticket is not None:
            await self._ctx.publish(
                CsatReceived(
                    ticket_id=ticket["id"],
                    conversation_id=ticket["conversation_id"],
                    score=score,
                    agent_id=ticket["rating"]["agent_id"],
                    team_id=ticket["team_id"],
                )
            )
        return result, ticket
