"""chatbots, widget sessions and messages, hand-offs; document source urls

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 04:41:13.179855
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chatbots",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("assistant", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("not_helpful", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_chatbots_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chatbots")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_chatbots_tenant_id")),
        sa.UniqueConstraint("token", name=op.f("uq_chatbots_token")),
    )
    with op.batch_alter_table("chatbots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chatbots_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "widget_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_widget_days_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_days")),
        sa.UniqueConstraint("tenant_id", "day", name=op.f("uq_widget_days_tenant_id")),
    )
    with op.batch_alter_table("widget_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_widget_days_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "handoffs",
        sa.Column("chatbot_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("transcript", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chatbot_id"], ["chatbots.id"], name=op.f("fk_handoffs_chatbot_id_chatbots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["done_by"], ["users.id"], name=op.f("fk_handoffs_done_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_handoffs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoffs_chatbot_id"), ["chatbot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoffs_reference"), ["reference"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoffs_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoffs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "widget_sessions",
        sa.Column("chatbot_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chatbot_id"],
            ["chatbots.id"],
            name=op.f("fk_widget_sessions_chatbot_id_chatbots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_widget_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_sessions")),
    )
    with op.batch_alter_table("widget_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_widget_sessions_chatbot_id"), ["chatbot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_widget_sessions_last_at"), ["last_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_widget_sessions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "widget_messages",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=True),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("easy", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["widget_sessions.id"],
            name=op.f("fk_widget_messages_session_id_widget_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_widget_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_messages")),
    )
    with op.batch_alter_table("widget_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_widget_messages_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_widget_messages_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("knowledge_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_url", sa.String(length=500), nullable=True))

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("widget_daily_messages", sa.Integer(), server_default="2000", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("widget_daily_messages")

    with op.batch_alter_table("knowledge_documents", schema=None) as batch_op:
        batch_op.drop_column("source_url")

    with op.batch_alter_table("widget_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widget_messages_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_widget_messages_session_id"))

    op.drop_table("widget_messages")
    with op.batch_alter_table("widget_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widget_sessions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_widget_sessions_last_at"))
        batch_op.drop_index(batch_op.f("ix_widget_sessions_chatbot_id"))

    op.drop_table("widget_sessions")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_handoffs_status"))
        batch_op.drop_index(batch_op.f("ix_handoffs_reference"))
        batch_op.drop_index(batch_op.f("ix_handoffs_chatbot_id"))

    op.drop_table("handoffs")
    with op.batch_alter_table("widget_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widget_days_tenant_id"))

    op.drop_table("widget_days")
    with op.batch_alter_table("chatbots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chatbots_tenant_id"))

    op.drop_table("chatbots")
