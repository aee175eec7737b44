"""monthly budgets per tenant and assistant

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 04:26:44
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("assistant", sa.String(length=100), nullable=True),
        sa.Column("eur_per_month", sa.Float(), nullable=True),
        sa.Column("kwh_per_month", sa.Float(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_budgets_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("tenant_id", "assistant", name="uq_budgets_tenant_assistant"),
    )
    with op.batch_alter_table("budgets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budgets_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "budget_months",
        sa.Column("budget_id", sa.String(length=32), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("spent_eur", sa.Float(), nullable=False),
        sa.Column("spent_wh", sa.Float(), nullable=False),
        sa.Column("reserved_eur", sa.Float(), nullable=False),
        sa.Column("reserved_wh", sa.Float(), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"], ["budgets.id"], name=op.f("fk_budget_months_budget_id_budgets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_budget_months_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_months")),
        sa.UniqueConstraint("budget_id", "month", name="uq_budget_months_budget_month"),
    )
    with op.batch_alter_table("budget_months", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_months_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("budget_months", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_months_tenant_id"))

    op.drop_table("budget_months")
    with op.batch_alter_table("budgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budgets_tenant_id"))

    op.drop_table("budgets")
