"""Subscriptions keep their period anchor: when the first billed period began

Revision ID: fcceb8a68d9e
Revises:
Create Date: 2026-11-30 13:03:19.514488

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "fcceb8a68d9e"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: subscriptions from before have no anchor (NULL), and their periods go
    on a month or year from wherever the last one ended, as they did."""
    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_anchor", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("period_anchor")
