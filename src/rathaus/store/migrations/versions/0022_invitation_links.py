"""invitation links (a hashed one-time token with an expiry) and passwords that must be changed

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(batch.f("uq_invitations_token_hash"), ["token_hash"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_constraint(batch.f("uq_invitations_token_hash"), type_="unique")
        batch.drop_column("expires_at")
        batch.drop_column("token_hash")
