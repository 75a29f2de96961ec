"""Fiscal reporting to FBR / PRA (issue 9): the shop's fiscal settings and token, a product's PCT code,
and a sale's Re 1 POS service fee among its facts.

The settings, token and PCT code are nullable with no default: an existing shop reads as mode "off"
(NULL settings) with no token, and an existing product reports the default PCT code
(contract.DEFAULT_PCT_CODE). No sale stored before this revision can carry a service fee (the contract
that allows one comes with it), so its facts' service_fee is rightly the default 0: nothing needs
filling in, and the upgrade is instant on a shop of any size.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("fiscal", sa.Text(), nullable=True))
        batch.add_column(sa.Column("fiscal_token", sa.Text(), nullable=True))
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("pct_code", sa.String(9), nullable=True))
    with op.batch_alter_table("sale_facts") as batch:
        batch.add_column(sa.Column("service_fee", sa.BigInteger(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("sale_facts") as batch:
        batch.drop_column("service_fee")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("pct_code")
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("fiscal_token")
        batch.drop_column("fiscal")
