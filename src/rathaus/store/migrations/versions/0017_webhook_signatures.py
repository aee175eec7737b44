"""signatures of accepted webhook calls, so that none is accepted twice

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_signatures",
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_signatures")),
        sa.UniqueConstraint("signature", name=op.f("uq_webhook_signatures_signature")),
    )
    with op.batch_alter_table("webhook_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_signatures_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_signatures_expires_at"))

    op.drop_table("webhook_signatures")
