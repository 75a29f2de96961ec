"""Failed owner sign-ins counted per (login, client address), before each password is checked
(owners.py): one address cannot lock the owner out of another, and guessing in parallel gets no
more tries than guessing in turn.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("login", sa.String(200), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("login", "address"))


def downgrade() -> None:
    op.drop_table("sign_in_failures")
