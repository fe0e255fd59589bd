"""The access audit keeps every subject of a row, uncut, in agents_audit_subjects

Revision ID: 3b9e51c0d7a2
Revises:
Create Date: 2026-11-30 03:40:00.000000

A row's single `subject` (200 characters) becomes its first and only subject; the chain
hashes one subject as it hashed the column, so the rows written before still verify.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3b9e51c0d7a2"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "agents_audit_subjects",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "position"),
    )
    op.create_index(
        "agents_audit_subjects_subject", "agents_audit_subjects", ["subject"], unique=False
    )
    op.execute(
        "INSERT INTO agents_audit_subjects (seq, position, subject) "
        "SELECT seq, 0, subject FROM agents_audit WHERE subject IS NOT NULL"
    )
    with op.batch_alter_table("agents_audit", schema=None) as batch_op:
        batch_op.drop_index("agents_audit_subject")
        batch_op.drop_column("subject")


def downgrade() -> None:
    """Downgrade schema: a row keeps its first subject only (the column held one)."""
    with op.batch_alter_table("agents_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
        batch_op.create_index("agents_audit_subject", ["subject"], unique=False)
    op.execute(
        "UPDATE agents_audit SET subject = (SELECT subject FROM agents_audit_subjects s "
        "WHERE s.seq = agents_audit.seq AND s.position = 0)"
    )
    op.drop_index("agents_audit_subjects_subject", table_name="agents_audit_subjects")
    op.drop_table("agents_audit_subjects")
