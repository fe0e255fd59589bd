"""Each chat message changes its ticket once. Every unit here moves the ticket's
`handled_seq` on to the message's seq in the same transaction as the change the message
makes, and makes none when that seq was handled already: the live event and the catch-up
racing, or an event heard twice. Units of work for `ctx.transaction`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .email_threads import record
from .models import tickets
from .states import StatusMoveRefused, after_customer_wrote
from .tickets import Row, by_conversation, first_response, move, touch


def claim(session: Session, conversation_id: str, seq: int) -> bool:
    """Move the ticket's `handled_seq` on to `seq`; False when it was there already."""
    handled = tickets.c.handled_seq
    claimed = session.execute(
        update(tickets)
        .where(
            tickets.c.conversation_id == conversation_id,
            or_(handled.is_(None), handled < seq),
        )
        .values(handled_seq=seq)
    )
    return claimed.rowcount == 1


def agent_replied(
    session: Session,
    conversation_id: str,
    seq: int,
    agent_id: str,
    at: float,
    mailed: tuple[str, str] | None,
) -> None:
    """The agent's message is the first response unless there was one; `mailed` is the
    (Message-ID, chat message id) it went to the customer as, which joins the thread."""
    if not claim(session, conversation_id, seq):
        return
    first_response(session, conversation_id, agent_id, at)
    if mailed is not None:
        row = by_conversation(session, conversation_id)
        assert row is not None
        message_id, chat_message_id = mailed
        record(session, message_id, row["id"], "out", at, chat_message_id)


def customer_wrote(
    session: Session, conversation_id: str, seq: int, at: float, written_at: float
) -> Row | None:
    """Touch the ticket and give it back to the agents when it waited on the customer or
    was resolved; the moved ticket (`tickets.move`'s row), None when it did not move. A
    message written before the ticket's status last changed (heard late: the live event and
    the catch-up racing) moves nothing: the agent moved the ticket after it was written."""
    if not claim(session, conversation_id, seq):
        return None
    touch(session, conversation_id, at)
    row = by_conversation(session, conversation_id)
    assert row is not None
    if row["status_at"] is not None and written_at < row["status_at"]:
        return None
    reopened = after_customer_wrote(row["status"])
    if reopened is None:
        return None
    try:
        return move(session, row["id"], reopened, None, at)
    except StatusMoveRefused:
        return None


def start_at(session: Session, conversation_id: str, seq: int) -> None:
    """A ticket older than `handled_seq` counts the conversation's messages up to `seq` as
    handled (before, they were handled as they came, or lost)."""
    session.execute(
        update(tickets)
        .where(tickets.c.conversation_id == conversation_id, tickets.c.handled_seq.is_(None))
        .values(handled_seq=seq)
    )


def not_closed(session: Session, after_id: int, limit: int) -> Sequence[Row]:
    """Up to `limit` tickets not closed with an id above `after_id`, by id."""
    rows = session.execute(
        select(tickets)
        .where(tickets.c.status != "closed", tickets.c.id > after_id)
        .order_by(tickets.c.id)
        .limit(limit)
    ).mappings()
    return [dict(row) for row in rows]
