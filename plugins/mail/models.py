"""The plugin's tables: the outbox (every message accepted for sending), the files
attached to its messages, and the inbox."""

from sqlalchemy import (
    JSON,
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
)

metadata = MetaData()

outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("state", String(16), nullable=False),  # queued, sending, sent, failed
    Column("priority", Integer, nullable=False),
    Column("send_at", Float, nullable=False),  # unix seconds: cheap to compare and index
    Column("lease_until", Float, nullable=True),
    Column("claim", String(32), nullable=True),  # which claim holds the lease
    Column("sender", String(320), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=True),
    Column("in_reply_to", Text, nullable=True),  # the Message-ID a reply answers
    Column("reference_ids", Text, nullable=True),  # its References, space-separated
    Column("template", String(200), nullable=True),
    Column("locale", String(35), nullable=True),
    Column("user_id", String(200), nullable=True, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("reply", Text, nullable=True),  # the last SMTP reply, or the connection error
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    # [{"filename", "content_type", "size"}, ...] of its attachments, or NULL for none; their
    # bytes are in mail_attachments, read only when the message is built
    Column("attachments", JSON(none_as_null=True), nullable=True),
    Index("mail_outbox_due", "state", "send_at"),
)

attachments = Table(
    "mail_attachments",
    metadata,
    Column(
        "outbox_id",
        String(36),
        ForeignKey("mail_outbox.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),  # its index in the outbox row's list
    Column("content", LargeBinary, nullable=False),
)

inbox = Table(
    "mail_inbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("message_id", String(998), nullable=True),
    Column("sender", String(320), nullable=False, index=True),
    Column("recipients", JSON, nullable=False),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
