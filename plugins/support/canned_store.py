"""Canned responses for one language: the built-in ones in that language from the catalogs,
and those people wrote, with how often each was sent. Units of work and their reader."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from mindframe.sdk.chat import CannedResponse
from mindframe.sdk.i18n import Localizer

from .canned import BUILTINS
from .db import insert_if_absent
from .models import canned_responses, canned_uses


def use_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(canned_uses.c.response_id, func.count()).group_by(canned_uses.c.response_id)
    )
    return {response_id: count for response_id, count in rows}


def written(session: Session, locale: str | None) -> list[dict[str, Any]]:
    """Responses people wrote for `locale` (and for any language); all when None."""
    query = select(canned_responses).order_by(canned_responses.c.shortcut)
    if locale is not None:
        language = locale.split("_")[0]
        query = query.where(
            or_(
                canned_responses.c.locale.is_(None),
                canned_responses.c.locale == locale,
                canned_responses.c.locale == language,
                canned_responses.c.locale.like(f"{language}\\_%", escape="\\"),
            )
        )
    return [dict(row) for row in session.execute(query).mappings()]


def record_use(
    session: Session, response_id: str, ticket_id: int, agent_id: str, at: float
) -> None:
    session.execute(
        insert(canned_uses).values(
            response_id=response_id, ticket_id=ticket_id, agent_id=agent_id, used_at=at
        )
    )


def add(
    session: Session, shortcut: str, locale: str | None, text: str, by: str, at: float
) -> dict[str, Any] | None:
    """A new response; None when `shortcut` is taken in that language."""
    values = {
        "id": str(uuid.uuid4()),
        "shortcut": shortcut,
        "locale": locale,
        "text": text,
        "created_by": by,
        "created_at": at,
    }
    return values if insert_if_absent(session, canned_responses, values) else None


def remove(session: Session, response_id: str) -> bool:
    gone = session.execute(delete(canned_responses).where(canned_responses.c.id == response_id))
    return gone.rowcount == 1


def candidates(session: Session, l10n: Localizer) -> list[CannedResponse]:
    """Every response an agent could send in `l10n`'s language, with its use count."""
    uses = use_counts(session)
    found = [
        CannedResponse(
            id=b.id,
            shortcut=b.shortcut,
            text=l10n.gettext(b.text),
            locale=l10n.locale,
            uses=uses.get(b.id, 0),
        )
        for b in BUILTINS
    ]
    for row in written(session, l10n.locale):
        found.append(
            CannedResponse(
                id=row["id"],
                shortcut=row["shortcut"],
                text=row["text"],
                locale=row["locale"],
                uses=uses.get(row["id"], 0),
            )
        )
    return found
