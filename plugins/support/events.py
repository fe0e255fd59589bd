"""What the plugin tells the runtime: `support.ticket.*`, each published after the change it
reports is committed, and durable (a subscriber that was away hears it after a restart)."""

from typing import ClassVar

from mindframe.sdk import Event


class TicketEvent(Event):
    durable: ClassVar[bool] = True

    ticket_id: int
    conversation_id: str


class TicketCreated(TicketEvent):
    topic: ClassVar[str] = "support.ticket.created"

    channel: str
    priority: str
    team_id: int | None = None


class TicketAssigned(TicketEvent):
    """`agent_id` None: the ticket went back to its queue."""

    topic: ClassVar[str] = "support.ticket.assigned"

    agent_id: str | None
    previous_agent_id: str | None = None
    by: str | None = None  # None: auto-assignment


class TicketStatusChanged(TicketEvent):
    topic: ClassVar[str] = "support.ticket.status_changed"

    status: str
    previous: str
    by: str | None = None


class SlaBreached(TicketEvent):
    """A first-response or resolution deadline passed; published once per breach
    (`breach_id` is stable, should a crash make it twice)."""

    topic: ClassVar[str] = "support.ticket.sla_breached"

    breach_id: int
    kind: str  # first_response, resolution
    due_at: float
    breached_at: float
    priority: str
    assignee_id: str | None = None


class CsatReceived(TicketEvent):
    topic: ClassVar[str] = "support.ticket.csat_received"

    score: int
    agent_id: str | None = None
    team_id: int | None = None
