"""Replies carry their thread: In-Reply-To and References of outbox rows

Revision ID: 7c1e52a9d0b4
Revises:
Create Date: 2026-12-01 00:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7c1e52a9d0b4"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_reply_to", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reference_ids", sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_column("reference_ids")
        batch_op.drop_column("in_reply_to")
