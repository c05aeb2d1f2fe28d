"""Bootstrap tasks as records that can be read back (GET /admin/bootstrap/{task_id}): the
request, its state, and one item per planned filing with its document or the reason it has none."""

revision = "0004"
down_revision = "0003"

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bootstrap_tasks",
        sa.Column("task_id", sa.String(80), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("companies", JSONB, nullable=False),
        sa.Column("doc_types", JSONB, nullable=False),
        sa.Column("years", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.CheckConstraint("status in ('started', 'running', 'queued', 'failed')",
                           name="bootstrap_tasks_status"),
    )
    op.create_table(
        "bootstrap_items",
        sa.Column("task_id", sa.String(80), sa.ForeignKey("bootstrap_tasks.task_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("doc_type", sa.String(40), nullable=False),
        sa.Column("fiscal_period", sa.String(16), nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("document_id", sa.BigInteger),
        sa.Column("reason", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("bootstrap_items")
    op.drop_table("bootstrap_tasks")
