"""The owner's back office: owner accounts, sessions and sign-in failures, archived products, disabled cashiers,
revoked boxes and tablets, idempotent stock movements, and what the range reports read
(a sale's receipt number and hour, a line's GST and name).

Facts stored before this revision are filled in from the journal they were projected from, so
every report reads the same whether a sale arrived before or after the upgrade.

Revision ID: 0004
Revises: 0003
"""
import json

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owners",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("login", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"))
    op.create_table(
        "owner_sessions",
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("token_digest"))
    op.create_index("ix_owner_sessions_owner_id", "owner_sessions", ["owner_id"])
    with op.batch_alter_table("shops") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(36), nullable=True))
        batch.create_index("ix_shops_owner_id", ["owner_id"])
    with op.batch_alter_table("gateways") as batch:
        batch.add_column(sa.Column("revoked_at", sa.String(40), nullable=True))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("revoked_at", sa.String(40), nullable=True))
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("cashiers") as batch:
        batch.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("stock_ledger") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(100), nullable=True))
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_stock_ledger_idempotency", ["shop_id", "idempotency_key"])
    with op.batch_alter_table("line_facts") as batch:
        batch.add_column(sa.Column("tax", sa.BigInteger(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("gst_bp", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("name", sa.String(200), nullable=False, server_default=""))
    with op.batch_alter_table("sale_facts") as batch:
        batch.add_column(sa.Column("receipt", sa.String(20), nullable=True))
        batch.add_column(sa.Column("hour", sa.Integer(), nullable=True))
        batch.create_index("ix_sale_facts_shop_receipt", ["shop_id", "receipt"])
        batch.create_index("ix_sale_facts_shop_original", ["shop_id", "original_id"])
    _fill_in_from_the_journal()


def _fill_in_from_the_journal() -> None:
    # Imported here: the contract's rules as they are when this runs (they only ever add).
    from cloud_api.contract import receipt_number, shop_time
    from cloud_api.migrations import JOURNAL_CHUNK
    # A shop may hold millions of sales: read the journal in chunks by ingest_seq (never all of it in
    # memory) and write each chunk with one executemany per table (not one round trip per row).
    conn = op.get_bind()
    zones = dict(conn.execute(sa.text("SELECT id, timezone FROM shops")).all())
    set_sale = sa.text("UPDATE sale_facts SET receipt = :receipt, hour = :hour "
                       "WHERE shop_id = :shop AND document_id = :doc")
    set_line = sa.text("UPDATE line_facts SET tax = :tax, gst_bp = :gst_bp, name = :name "
                       "WHERE shop_id = :shop AND document_id = :doc AND line_no = :n")
    after = -1
    while True:
        rows = conn.execute(sa.text(
            "SELECT d.ingest_seq, d.shop_id, d.id, d.body, d.received_at FROM documents d "
            "WHERE d.kind IN ('sale', 'refund') AND d.ingest_seq > :after ORDER BY d.ingest_seq LIMIT :chunk"),
            dict(after=after, chunk=JOURNAL_CHUNK)).all()
        if not rows:
            return
        sales: list[dict] = []
        lines: list[dict] = []
        for _seq, shop_id, doc_id, body, received_at in rows:
            doc = json.loads(body)
            when = shop_time(doc["created_at"], zones.get(shop_id, "Asia/Karachi"), doc.get("clock_offset_ms"),
                             received_at)
            sales.append(dict(receipt=receipt_number(doc["device_code"], doc["seq"]), hour=when.hour,
                              shop=shop_id, doc=doc_id))
            sign = -1 if doc["kind"] == "refund" else 1
            lines.extend(dict(tax=sign * line["tax"], gst_bp=line["gst_bp"], name=line["name"],
                              shop=shop_id, doc=doc_id, n=n) for n, line in enumerate(doc.get("lines", [])))
        conn.execute(set_sale, sales)
        if lines:
            conn.execute(set_line, lines)
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("sale_facts") as batch:
        batch.drop_index("ix_sale_facts_shop_original")
        batch.drop_index("ix_sale_facts_shop_receipt")
        batch.drop_column("hour")
        batch.drop_column("receipt")
    with op.batch_alter_table("line_facts") as batch:
        for name in ("name", "gst_bp", "tax"):
            batch.drop_column(name)
    with op.batch_alter_table("stock_ledger") as batch:
        batch.drop_constraint("uq_stock_ledger_idempotency", type_="unique")
        batch.drop_column("request_hash")
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("cashiers") as batch:
        batch.drop_column("disabled")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("archived")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("revoked_at")
    with op.batch_alter_table("gateways") as batch:
        batch.drop_column("revoked_at")
    with op.batch_alter_table("shops") as batch:
        batch.drop_index("ix_shops_owner_id")
        batch.drop_column("owner_id")
    op.drop_table("owner_sessions")
    op.drop_table("owners")
