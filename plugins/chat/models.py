"""The plugin's tables: visitors, conversations, their messages (numbered per conversation),
attachments, read receipts and agents' presence."""

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

visitors = Table(
    "chat_visitors",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_digest", String(64), nullable=False, unique=True),  # sha256 of the token
    Column("name", String(200), nullable=True),
    Column("email", String(320), nullable=True, index=True),
    Column("user_id", String(200), nullable=True, index=True),
    Column("locale", String(35), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

conversations = Table(
    "chat_conversations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("channel", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # open, closed
    Column("visitor_id", String(32), ForeignKey("chat_visitors.id"), nullable=False, index=True),
    Column("assignee_id", String(200), nullable=True, index=True),
    Column("subject", String(400), nullable=True),
    Column("locale", String(35), nullable=True),
    Column("external_ref", String(400), nullable=True, index=True),
    Column("last_seq", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_message_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
)

messages = Table(
    "chat_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("conversation_id", String(32), ForeignKey("chat_conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("author_kind", String(16), nullable=False),  # visitor, agent, system
    Column("author_id", String(200), nullable=True),
    Column("author_name", String(200), nullable=True),
    Column("text", Text, nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("conversation_id", "seq", name="chat_messages_seq"),
    # conversation and client id first: a resend is looked up by those two
    UniqueConstraint(
        "conversation_id", "client_id", "author_kind", "author_id", name="chat_messages_client"
    ),
)

attachments = Table(
    "chat_attachments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key", String(43), nullable=False),  # the capability in its download URL
    Column("conversation_id", String(32), ForeignKey("chat_conversations.id"), nullable=False),
    Column("message_id", String(32), nullable=True, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("chat_attachments_conversation", "conversation_id"),
)

reads = Table(
    "chat_reads",
    metadata,
    Column("conversation_id", String(32), primary_key=True),
    Column("reader_kind", String(16), primary_key=True),
    Column("reader_id", String(200), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False),
)

presence = Table(
    "chat_presence",
    metadata,
    Column("agent_id", String(200), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("status", String(16), nullable=False),  # online, away, offline
    Column("since", DateTime(timezone=True), nullable=False),
    Column("heard_at", Float, nullable=False),  # unix seconds of the last heartbeat
)
