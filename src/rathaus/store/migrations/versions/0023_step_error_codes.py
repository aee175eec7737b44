"""why a step or run failed as a code with values, so that pages say it in the reader's language

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None
TABLES = ("workflow_runs", "workflow_step_runs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("error_code", sa.String(length=40), nullable=True))
            batch.add_column(sa.Column("error_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("error_values")
            batch.drop_column("error_code")
