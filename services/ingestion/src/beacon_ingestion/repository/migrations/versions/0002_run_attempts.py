"""Runs count their attempts on the document; the lease and stage heartbeats are gone
(the bus redelivers, an advisory lock holds a running document)."""

revision = "0002"
down_revision = "0001"

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("documents", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.drop_column("documents", "lease_owner")
    op.drop_column("documents", "lease_until")
    op.drop_column("document_stages", "heartbeat_at")


def downgrade() -> None:
    op.add_column("document_stages", sa.Column("heartbeat_at", TS))
    op.add_column("documents", sa.Column("lease_until", TS))
    op.add_column("documents", sa.Column("lease_owner", sa.String(200)))
    op.drop_column("documents", "attempts")
