"""Devices remember how far their clock is from the box's (clock_skew_ms), for health.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: devices known before this revision have no measurement yet.
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("clock_skew_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("clock_skew_ms")
