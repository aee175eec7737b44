"""how well language models classify a label set, against tier 0

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_trials",
        sa.Column("labels_key", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("tier0_correct", sa.Integer(), nullable=False),
        sa.Column("model_correct", sa.Integer(), nullable=False),
        sa.Column("unsure", sa.Integer(), nullable=False),
        sa.Column("tier0_unsure_correct", sa.Integer(), nullable=False),
        sa.Column("model_unsure_correct", sa.Integer(), nullable=False),
        sa.Column("model_only", sa.Integer(), nullable=False),
        sa.Column("tier0_only", sa.Integer(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_label_trials_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_trials")),
        sa.UniqueConstraint("tenant_id", "labels_key", "model_id", name=op.f("uq_label_trials_tenant_id")),
    )
    with op.batch_alter_table("label_trials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_trials_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("label_trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_trials_tenant_id"))
    op.drop_table("label_trials")
