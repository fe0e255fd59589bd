"""The plugin's tables: users and their roles, sessions, tokens, lockouts, erasures and the
audit log. Secrets (session ids, tokens) are stored only as SHA-256 digests."""

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table

metadata = MetaData()

users = Table(
    "auth_users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("roles", JSON, nullable=False, default=list),
    Column("locale", String(10)),
    Column("email", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

roles = Table(
    "auth_roles",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("permissions", JSON, nullable=False, default=list),
)

sessions = Table(
    "auth_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False, default=list),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),  # asked for at creation; else by the setting
)

lockouts = Table(
    "auth_lockouts",
    metadata,
    Column("username", String(150), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("first_failure_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
)

erasures = Table(
    "auth_erasures",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("subject", JSON, nullable=False),
    Column("done", JSON, nullable=False, default=list),
    Column("failed", JSON, nullable=False, default=dict),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "auth_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("event", String(40), nullable=False, index=True),
    Column("username", String(150)),
    Column("user_id", String(36)),
    Column("client", String(100)),
    Column("detail", JSON, nullable=False, default=dict),
)
