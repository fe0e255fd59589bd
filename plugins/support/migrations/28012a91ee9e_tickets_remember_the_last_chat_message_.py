"""Tickets remember the last chat message handled (`support_tickets.handled_seq`)

Tickets that exist already keep NULL: the catch-up starts them at their conversation's
newest message instead of handling their whole history again (no reply mailed twice, no
resolved ticket reopened by an old message).

Revision ID: 28012a91ee9e
Revises:
Create Date: 2026-11-30 03:18:44.083766

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "28012a91ee9e"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.drop_column("handled_seq")
