"""energy, CO2, cost, reference, route, tier and assistant of each request

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_records") as batch:
        batch.add_column(sa.Column("wh", sa.Float(), nullable=True))
        batch.add_column(sa.Column("wh_method", sa.String(20), server_default="unknown", nullable=False))
        batch.add_column(sa.Column("wh_uncertainty", sa.Float(), nullable=True))
        batch.add_column(sa.Column("co2_g", sa.Float(), nullable=True))
        batch.add_column(sa.Column("eur", sa.Float(), server_default="0", nullable=False))
        batch.add_column(sa.Column("reference_profile_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("reference_wh", sa.Float(), nullable=True))
        batch.add_column(sa.Column("reference_eur", sa.Float(), nullable=True))
        batch.add_column(sa.Column("route", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("tier", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assistant", sa.String(100), nullable=True))
    op.create_index("ix_request_records_created_at", "request_records", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_request_records_created_at", "request_records")
    with op.batch_alter_table("request_records") as batch:
        for column in (
            "assistant", "tier", "route", "reference_eur", "reference_wh", "reference_profile_id",
            "eur", "co2_g", "wh_uncertainty", "wh_method", "wh",
        ):  # fmt: skip
            batch.drop_column(column)
