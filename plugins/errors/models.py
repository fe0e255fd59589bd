"""The plugin's tables. Times are unix seconds (floats): cheap to compare, bucket and index.

Accepted envelopes wait in the plugin's spool (`inbox.py`) until the digest turns them into
events, grouped into issues; everything else is derived from those two and kept beside them
so the pages and the API read without scanning events.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
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

projects = Table(
    "errors_projects",
    metadata,
    Column("id", Integer, primary_key=True),  # the SDKs accept only integer project ids
    Column("name", String(200), nullable=False, unique=True),
    Column("builtin", Boolean, nullable=False, default=False),  # the runtime's own errors
    Column("rate_limit", Integer, nullable=True),  # events a minute; None: the setting
    Column("retention_days", Float, nullable=True),  # None: the setting
    Column("max_events", Integer, nullable=True),  # None: the setting
    Column("created_at", Float, nullable=False),
)

keys = Table(
    "errors_keys",
    metadata,
    Column("public_key", String(64), primary_key=True),
    Column("project_id", Integer, ForeignKey("errors_projects.id"), nullable=False, index=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
)

inbox = Table(
    "errors_inbox",
    metadata,
    # envelopes the digest set aside (`error`); before the spool, also those waiting
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("body", LargeBinary, nullable=False),  # the envelope as sent (still compressed)
    Column("encoding", String(64), nullable=True),  # its Content-Encoding, if any
    Column("error", Text, nullable=True),  # why the digest could not take it (kept aside)
)

spool_cursor = Table(
    "errors_spool_cursor",
    metadata,
    # where the digest is in the inbox spool: moved in the transaction that stores what it read
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

issues = Table(
    "errors_issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),  # the hash it was created under
    Column("title", Text, nullable=False),
    Column("culprit", Text, nullable=True),
    Column("exception_type", String(200), nullable=True),
    Column("level", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # unresolved, resolved, ignored
    Column("resolved_in", String(200), nullable=True),  # the release it was resolved in
    Column("resolved_at", Float, nullable=True),
    Column("regressed", Boolean, nullable=False, default=False),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("users", Integer, nullable=False, default=0),
    Column("first_release", String(200), nullable=True),
    Column("last_release", String(200), nullable=True),
    Index("errors_issues_project_last_seen", "project_id", "last_seen"),
)

fingerprints = Table(
    "errors_fingerprints",
    metadata,
    # which issue a group hash belongs to: a merge re-points the merged issue's hashes
    Column("project_id", Integer, primary_key=True),
    Column("hash", String(64), primary_key=True),
    Column("issue_id", Integer, nullable=False, index=True),
)

events = Table(
    "errors_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("project_id", Integer, nullable=False),
    Column("issue_id", Integer, nullable=False, index=True),
    Column("timestamp", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("level", String(16), nullable=False),
    Column("release", String(200), nullable=True),
    Column("environment", String(200), nullable=True),
    Column("user_id", String(200), nullable=True, index=True),
    Column("user_email", String(320), nullable=True, index=True),
    Column("user_name", String(200), nullable=True, index=True),
    Column("user_key", String(400), nullable=True),  # what counts as one affected user
    Column("title", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),  # the whole event: normalize.stored_json
    UniqueConstraint("project_id", "event_id", name="errors_events_project_event"),
    Index("errors_events_project_received", "project_id", "received_at"),
)

issue_hours = Table(
    "errors_issue_hours",
    metadata,
    Column("issue_id", Integer, primary_key=True),
    Column("hour", Integer, primary_key=True),  # unix seconds // 3600
    Column("project_id", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Index("errors_issue_hours_project_hour", "project_id", "hour"),
)

issue_users = Table(
    "errors_issue_users",
    metadata,
    Column("issue_id", Integer, primary_key=True),
    Column("user_key", String(400), primary_key=True),
)

issue_facets = Table(
    "errors_issue_facets",
    metadata,
    # the releases and environments an issue was seen in, for filters
    Column("issue_id", Integer, primary_key=True),
    Column("kind", String(16), primary_key=True),  # release, environment
    Column("value", String(200), primary_key=True),
    Index("errors_issue_facets_value", "kind", "value"),
)

item_counts = Table(
    "errors_item_counts",
    metadata,
    # what else the SDKs sent (transactions, sessions, client reports...), counted per hour
    Column("project_id", Integer, primary_key=True),
    Column("hour", Integer, primary_key=True),
    Column("item_type", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
)

attachments = Table(
    "errors_attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("event_id", String(32), nullable=False, index=True),
    Column("filename", String(400), nullable=False),
    Column("content_type", String(200), nullable=True),
    Column("content", LargeBinary, nullable=False),
    Column("received_at", Float, nullable=False),
)

artifacts = Table(
    "errors_artifacts",
    metadata,
    # uploaded release files (source maps) for symbolication.py
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=False),
    Column("release", String(200), nullable=False),
    Column("name", String(400), nullable=False),  # as uploaded: ~/static/app.js.map
    Column("content", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("project_id", "release", "name", name="errors_artifacts_release_name"),
)

generation = Table(
    "errors_generation",
    metadata,
    # bumped by every change the digest caches (states, merges, keys), so a digest in
    # another process drops its caches at its next batch
    Column("id", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
)

alerts = Table(
    "errors_alerts",
    metadata,
    # what was worth telling someone (alerts.py): a new issue, a regression, a spike
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),  # its cause, so it is raised once
    Column("kind", String(16), nullable=False),  # created, regressed, spike
    Column("issue_id", Integer, nullable=False),
    Column("project_id", Integer, nullable=False),
    Column("facts", LargeBinary, nullable=False),  # JSON: the issue as it stood, for the text
    Column("suppressed", Boolean, nullable=False),  # within the issue's cooldown: sent nowhere
    Column("created_at", Float, nullable=False),
    Index("errors_alerts_issue_created", "issue_id", "created_at"),
)

alert_deliveries = Table(
    "errors_alert_deliveries",
    metadata,
    # one alert on one channel (mail, webhook), retried with backoff until delivered
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("errors_alerts.id"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", Float, nullable=True),
    Index("errors_alert_deliveries_due", "state", "next_attempt_at"),
)
