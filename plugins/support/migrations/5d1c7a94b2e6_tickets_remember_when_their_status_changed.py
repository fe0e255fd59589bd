"""Tickets remember when their status last changed (`support_tickets.status_at`)

A customer's message written before an agent moved the ticket, and heard after it, no longer
reopens it. Tickets that exist already keep NULL: their next message behaves as before.

Revision ID: 5d1c7a94b2e6
Revises: 28012a91ee9e
Create Date: 2026-11-30 07:58:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5d1c7a94b2e6"
down_revision: str | Sequence[str] | None = "28012a91ee9e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_at", sa.Float(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("support_tickets", schema=None) as batch_op:
        batch_op.drop_column("status_at")
