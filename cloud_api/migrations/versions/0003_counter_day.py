"""A whole day at the counter: product units and Urdu names, cashier permissions, receipt settings,
and the projections of refunds, shifts, cash movements, lines and payment references.

Every new column has a default (or may be empty), so rows written before this revision stay valid:
products are sold by the piece, cashiers give no discount and may take returns, receipts print no
address until the owner sets one.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("unit", sa.String(8), nullable=False, server_default="each"))
        batch.add_column(sa.Column("name_ur", sa.String(200), nullable=True))
        batch.add_column(sa.Column("low_stock_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("cashiers") as batch:
        batch.add_column(sa.Column("max_discount_bp", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("can_refund", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("shops") as batch:
        for name, length in (("address", 200), ("phone", 40), ("ntn", 20), ("strn", 20), ("receipt_footer", 200)):
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=""))
    with op.batch_alter_table("sale_facts") as batch:
        batch.add_column(sa.Column("cashier_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("shift_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("discount", sa.BigInteger(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("change", sa.BigInteger(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("original_id", sa.String(36), nullable=True))
        batch.create_index("ix_sale_facts_shop_shift", ["shop_id", "shift_id"])
    # Sales stored before now still say who rang them up: the journal knows.
    op.execute("UPDATE sale_facts SET cashier_id = (SELECT d.cashier_id FROM documents d "
               "WHERE d.shop_id = sale_facts.shop_id AND d.id = sale_facts.document_id)")
    with op.batch_alter_table("tender_facts") as batch:
        batch.add_column(sa.Column("reference", sa.String(64), nullable=True))
        batch.add_column(sa.Column("wallet", sa.String(16), nullable=True))
        batch.add_column(sa.Column("unverified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_tender_facts_shop_document", ["shop_id", "document_id"])
    op.create_table(
        "line_facts",
        sa.Column("shop_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.String(10), nullable=False),
        sa.Column("sku", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "document_id", "line_no"))
    op.create_index("ix_line_facts_shop_date", "line_facts", ["shop_id", "business_date"])
    op.create_table(
        "shifts",
        sa.Column("shop_id", sa.String(36), nullable=False),
        sa.Column("shift_id", sa.String(36), nullable=False),
        sa.Column("device_code", sa.String(8), nullable=False),
        sa.Column("business_date", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=True),
        sa.Column("opened_by", sa.String(200), nullable=True),
        sa.Column("opening_float", sa.BigInteger(), nullable=True),
        sa.Column("open_receipt", sa.String(20), nullable=True),
        sa.Column("close_document_id", sa.String(36), nullable=True),
        sa.Column("closed_at", sa.String(40), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("counted_cash", sa.BigInteger(), nullable=True),
        sa.Column("expected_cash", sa.BigInteger(), nullable=True),
        sa.Column("confirmed_card", sa.BigInteger(), nullable=True),
        sa.Column("confirmed_wallet", sa.BigInteger(), nullable=True),
        sa.Column("close_receipt", sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint("shop_id", "shift_id"))
    op.create_index("ix_shifts_shop_date", "shifts", ["shop_id", "business_date"])
    op.create_table(
        "cash_movements",
        sa.Column("shop_id", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(36), nullable=False),
        sa.Column("business_date", sa.String(10), nullable=False),
        sa.Column("device_code", sa.String(8), nullable=False),
        sa.Column("cashier_id", sa.String(200), nullable=False),
        sa.Column("shift_id", sa.String(36), nullable=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "document_id"))
    op.create_index("ix_cash_movements_shop_date", "cash_movements", ["shop_id", "business_date"])


def downgrade() -> None:
    op.drop_table("cash_movements")
    op.drop_table("shifts")
    op.drop_table("line_facts")
    with op.batch_alter_table("tender_facts") as batch:
        batch.drop_index("ix_tender_facts_shop_document")
        for name in ("unverified", "wallet", "reference"):
            batch.drop_column(name)
    with op.batch_alter_table("sale_facts") as batch:
        batch.drop_index("ix_sale_facts_shop_shift")
        for name in ("original_id", "change", "discount", "shift_id", "cashier_id"):
            batch.drop_column(name)
    with op.batch_alter_table("shops") as batch:
        for name in ("receipt_footer", "strn", "ntn", "phone", "address"):
            batch.drop_column(name)
    with op.batch_alter_table("cashiers") as batch:
        batch.drop_column("can_refund")
        batch.drop_column("max_discount_bp")
    with op.batch_alter_table("products") as batch:
        for name in ("low_stock_at", "name_ur", "unit"):
            batch.drop_column(name)
