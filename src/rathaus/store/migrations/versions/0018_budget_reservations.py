"""budget reservations: one row per running request and budget, released even when its process died

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_reservations",
        sa.Column("budget_month_id", sa.String(length=32), nullable=False),
        sa.Column("eur", sa.Float(), nullable=False),
        sa.Column("wh", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("assistant", sa.String(length=100), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_month_id"],
            ["budget_months.id"],
            name=op.f("fk_budget_reservations_budget_month_id_budget_months"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_budget_reservations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_reservations")),
    )
    with op.batch_alter_table("budget_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_budget_reservations_budget_month_id"), ["budget_month_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_budget_reservations_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_reservations_tenant_id"), ["tenant_id"], unique=False)

    # Reservations made before this revision have no row that could release them, and those of requests
    # killed mid-answer were never released: start from none (the servers are stopped for the upgrade).
    op.execute(sa.text("UPDATE budget_months SET reserved_eur = 0, reserved_wh = 0"))


def downgrade() -> None:
    with op.batch_alter_table("budget_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_reservations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_budget_reservations_expires_at"))
        batch_op.drop_index(batch_op.f("ix_budget_reservations_budget_month_id"))

    op.drop_table("budget_reservations")
