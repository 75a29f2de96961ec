"""The first schema: shops, gateways, devices, the journal, quarantine, projections, catalog.

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cashiers',
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('cashier_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pin_salt', sa.String(length=64), nullable=False),
    sa.Column('pin_hash', sa.String(length=128), nullable=False),
    sa.Column('pin_iterations', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'cashier_id')
    )
    op.create_table('devices',
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=200), nullable=False),
    sa.Column('device_code', sa.String(length=8), nullable=False),
    sa.Column('gateway_id', sa.String(length=36), nullable=True),
    sa.Column('first_seen_at', sa.String(length=40), nullable=False),
    sa.Column('last_heard_at', sa.String(length=40), nullable=False),
    sa.Column('contiguous_seq', sa.BigInteger(), nullable=False),
    sa.Column('max_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'device_id')
    )
    op.create_table('documents',
    sa.Column('ingest_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('device_id', sa.String(length=200), nullable=False),
    sa.Column('device_code', sa.String(length=8), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('business_date', sa.String(length=10), nullable=False),
    sa.Column('cashier_id', sa.String(length=200), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('gateway_id', sa.String(length=36), nullable=True),
    sa.Column('received_at', sa.String(length=40), nullable=True),
    sa.Column('ingested_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('ingest_seq'),
    sa.UniqueConstraint('shop_id', 'id', name='uq_documents_shop_id')
    )
    op.create_index('ix_documents_shop_device_seq', 'documents', ['shop_id', 'device_id', 'seq'], unique=False)
    op.create_index('ix_documents_shop_kind_date', 'documents', ['shop_id', 'kind', 'business_date'], unique=False)
    op.create_table('enrol_tokens',
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('used_at', sa.String(length=40), nullable=True),
    sa.Column('gateway_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('token_digest')
    )
    op.create_table('gateways',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('api_key_digest', sa.String(length=64), nullable=False),
    sa.Column('enrolled_at', sa.String(length=40), nullable=False),
    sa.Column('last_heard_at', sa.String(length=40), nullable=True),
    sa.Column('last_heartbeat', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('api_key_digest')
    )
    op.create_index(op.f('ix_gateways_shop_id'), 'gateways', ['shop_id'], unique=False)
    op.create_table('products',
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('gst_bp', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'sku')
    )
    op.create_table('quarantine',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('stored_hash', sa.String(length=64), nullable=False),
    sa.Column('incoming_hash', sa.String(length=64), nullable=False),
    sa.Column('incoming_body', sa.Text(), nullable=False),
    sa.Column('gateway_id', sa.String(length=36), nullable=True),
    sa.Column('quarantined_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    op.create_index(op.f('ix_quarantine_shop_id'), 'quarantine', ['shop_id'], unique=False)
    op.create_table('rejected_documents',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('gateway_id', sa.String(length=36), nullable=True),
    sa.Column('rejected_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    op.create_index(op.f('ix_rejected_documents_shop_id'), 'rejected_documents', ['shop_id'], unique=False)
    op.create_table('sale_facts',
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('business_date', sa.String(length=10), nullable=False),
    sa.Column('device_code', sa.String(length=8), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('tax', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'document_id')
    )
    op.create_index('ix_sale_facts_shop_date', 'sale_facts', ['shop_id', 'business_date'], unique=False)
    op.create_table('shops',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_token_digest', sa.String(length=64), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('catalog_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_token_digest')
    )
    op.create_table('stock_ledger',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    op.create_index('ix_stock_ledger_shop_sku', 'stock_ledger', ['shop_id', 'sku'], unique=False)
    op.create_table('tender_facts',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.String(length=36), nullable=False),
    sa.Column('business_date', sa.String(length=10), nullable=False),
    sa.Column('tender', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    op.create_index('ix_tender_facts_shop_date', 'tender_facts', ['shop_id', 'business_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tender_facts_shop_date', table_name='tender_facts')
    op.drop_table('tender_facts')
    op.drop_index('ix_stock_ledger_shop_sku', table_name='stock_ledger')
    op.drop_table('stock_ledger')
    op.drop_table('shops')
    op.drop_index('ix_sale_facts_shop_date', table_name='sale_facts')
    op.drop_table('sale_facts')
    op.drop_index(op.f('ix_rejected_documents_shop_id'), table_name='rejected_documents')
    op.drop_table('rejected_documents')
    op.drop_index(op.f('ix_quarantine_shop_id'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_table('products')
    op.drop_index(op.f('ix_gateways_shop_id'), table_name='gateways')
    op.drop_table('gateways')
    op.drop_table('enrol_tokens')
    op.drop_index('ix_documents_shop_kind_date', table_name='documents')
    op.drop_index('ix_documents_shop_device_seq', table_name='documents')
    op.drop_table('documents')
    op.drop_table('devices')
    op.drop_table('cashiers')
