"""Customers and khata (issue 10): the shop's credit defaults, customers and khata entries.

The two tables are new and start empty: no document before this revision can write a khata (the
contract that allows on_account, customer and khata documents comes with it). New shop columns have server defaults (Rs 5,000 limit for a customer created at a till, Rs 2,000 a tablet
cut off from the box may lend by itself), so existing shops read sensible values and the upgrade is
instant on a shop of any size.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("default_credit_limit", sa.BigInteger(), nullable=False,
                                   server_default=sa.text("500000")))
        batch.add_column(sa.Column("offline_credit_allowance", sa.BigInteger(), nullable=False,
                                   server_default=sa.text("200000")))
    op.create_table(
        "customers",
        sa.Column("shop_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("cnic", sa.String(15)),
        sa.Column("ntn", sa.String(20)),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("document_id", sa.String(36)),
    )
    op.create_index("ix_customers_shop_name", "customers", ["shop_id", "name"])
    op.create_table(
        "khata_entries",
        sa.Column("shop_id", sa.String(36), primary_key=True),
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("business_date", sa.String(10), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("device_code", sa.String(8)),
        sa.Column("cashier_id", sa.String(200)),
        sa.Column("receipt", sa.String(20)),
        sa.Column("shift_id", sa.String(36)),
        sa.Column("cash", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("card", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("wallet", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("note", sa.String(200)),
        sa.Column("source", sa.String(8), nullable=False),
    )
    # A customer's entries in time order (statements); business_date and amount ride along so the ageing
    # list's one aggregate over a shop's entries reads the index alone (khata.customers_with_balances).
    op.create_index("ix_khata_entries_shop_customer", "khata_entries",
                    ["shop_id", "customer_id", "at", "business_date", "amount"])
    op.create_index("ix_khata_entries_shop_date", "khata_entries", ["shop_id", "business_date"])
    op.create_index("ix_khata_entries_shop_shift", "khata_entries", ["shop_id", "shift_id"])


def downgrade() -> None:
    op.drop_table("khata_entries")
    op.drop_table("customers")
    with op.batch_alter_table("shops") as batch:
        batch.drop_column("offline_credit_allowance")
        batch.drop_column("default_credit_limit")
