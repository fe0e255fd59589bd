"""The plugin's tables. Moments are unix seconds (floats): cheap to compare in SLA queries
and to subtract for response times, the same on SQLite and PostgreSQL."""

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

tickets = Table(
    "support_tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(64), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("subject", Text, nullable=True),
    Column("status", String(16), nullable=False),  # open, pending, resolved, closed
    Column("priority", String(16), nullable=False),  # low, normal, high, urgent
    Column("labels", JSON, nullable=False),
    Column("team_id", Integer, nullable=True, index=True),
    Column("assignee_id", String(200), nullable=True, index=True),
    Column("assigned_at", Float, nullable=True),
    Column("visitor_id", String(200), nullable=True, index=True),
    Column("customer_email", String(320), nullable=True, index=True),
    Column("customer_name", String(200), nullable=True),
    Column("locale", String(35), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("first_response_due", Float, nullable=True),
    Column("first_response_at", Float, nullable=True),
    Column("first_responder_id", String(200), nullable=True),
    Column("resolution_due", Float, nullable=True),
    Column("resolved_at", Float, nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("closed_at", Float, nullable=True),
    Column("csat_token", String(64), nullable=True, unique=True),
    # the seq of the last chat message handled, where catching up goes on from; None: the
    # ticket is older than this column (`chat_messages.py` starts it at the chat's newest seq)
    Column("handled_seq", Integer, nullable=True),
    # when the status last changed: a customer's message written before it (heard late) does
    # not reopen the ticket the agent moved after reading it; None: before this column
    Column("status_at", Float, nullable=True),
    Index("support_tickets_queue", "status", "assignee_id", "team_id"),
)

breaches = Table(
    "support_breaches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, nullable=False),
    Column("kind", String(32), nullable=False),  # first_response, resolution
    Column("due_at", Float, nullable=False),
    Column("breached_at", Float, nullable=False),
    Column("announced_at", Float, nullable=True),  # support.ticket.sla_breached published
    UniqueConstraint("ticket_id", "kind", name="support_breaches_once"),
)

agents = Table(
    "support_agents",
    metadata,
    Column("agent_id", String(200), primary_key=True),  # the agent's user id
    Column("name", String(200), nullable=True),
    Column("max_concurrent", Integer, nullable=True),  # None: the setting
    Column("offline_since", Float, nullable=True),  # None: present, or never seen leaving
    Column("claimed_at", Float, nullable=True),  # written by every claim: the agent's lock
)

teams = Table(
    "support_teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("mail_address", String(320), nullable=True, unique=True),
    Column("created_at", Float, nullable=False),
)

team_members = Table(
    "support_team_members",
    metadata,
    Column("team_id", Integer, primary_key=True),
    Column("agent_id", String(200), primary_key=True),
)

round_robin = Table(
    "support_round_robin",
    metadata,
    Column("queue", String(64), primary_key=True),  # "general" or "team:<id>"
    Column("last_agent_id", String(200), nullable=False),
)

canned_responses = Table(
    "support_canned_responses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("shortcut", String(64), nullable=False),
    Column("locale", String(35), nullable=True),  # None: any language
    Column("text", Text, nullable=False),
    Column("created_by", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("shortcut", "locale", name="support_canned_shortcut"),
)

canned_uses = Table(
    "support_canned_uses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("response_id", String(64), nullable=False, index=True),
    Column("ticket_id", Integer, nullable=False, index=True),
    Column("agent_id", String(200), nullable=False),
    Column("used_at", Float, nullable=False),
)

ratings = Table(
    "support_csat",
    metadata,
    Column("ticket_id", Integer, primary_key=True),  # one rating per ticket
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("agent_id", String(200), nullable=True, index=True),
    Column("team_id", Integer, nullable=True, index=True),
    Column("rated_at", Float, nullable=False),
)

mail_messages = Table(
    "support_mail_messages",
    metadata,
    Column("message_id", String(998), primary_key=True),
    Column("ticket_id", Integer, nullable=False, index=True),
    Column("direction", String(3), nullable=False),  # in, out
    Column("chat_message_id", String(64), nullable=True, unique=True),
    Column("created_at", Float, nullable=False),
)
