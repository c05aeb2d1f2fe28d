"""Queries with their trace and metrics, and users' feedback on them."""

revision = "0001"
down_revision = None

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB


def upgrade() -> None:
    op.create_table(
        "queries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("filters", JSONB),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("response", sa.Text),
        sa.Column("generated_response", sa.Text),
        sa.Column("citations", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("workflow_trace", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("metrics", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        # Copies of three metrics as columns, for the admin statistics.
        sa.Column("latency_ms", sa.Integer),
        sa.Column("retrieval_score", sa.Float),
        sa.Column("faithfulness_score", sa.Float),
        sa.Column("review_reason", sa.Text),
        sa.Column("review", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status in ('processing', 'completed', 'failed', 'hitl_pending', 'rejected', 'cancelled')",
            name="queries_status",
        ),
    )
    op.create_index("queries_owner_created", "queries", ["owner", sa.text("created_at DESC")])
    op.create_index("queries_created", "queries", ["created_at"])
    op.create_table(
        "query_feedback",
        sa.Column("query_id", sa.String(64), sa.ForeignKey("queries.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("feedback", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating between 1 and 5", name="query_feedback_rating"),
    )


def downgrade() -> None:
    op.drop_table("query_feedback")
    op.drop_table("queries")
