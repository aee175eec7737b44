"""conversation retention per tenant

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("conversation_days", sa.Integer(), nullable=False, server_default="30"))
    with op.batch_alter_table("conversations") as batch:
        batch.create_index("ix_conversations_updated_at", ["updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_updated_at")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("conversation_days")
