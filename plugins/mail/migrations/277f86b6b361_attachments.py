"""Attachments: the files of outbox messages, and their description on each outbox row

Revision ID: 277f86b6b361
Revises: 7c1e52a9d0b4
Create Date: 2026-11-30 01:15:46.920183

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "277f86b6b361"
down_revision: str | Sequence[str] | None = "7c1e52a9d0b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: rows queued before it have no attachments (NULL)."""
    op.create_table(
        "mail_attachments",
        sa.Column("outbox_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["mail_outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("outbox_id", "position"),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema (the attached files are dropped with their table)."""
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    op.drop_table("mail_attachments")
