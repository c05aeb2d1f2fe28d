"""A held answer remembers its review and where its stream goes on once the review ends."""

revision = "0002"
down_revision = "0001"

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    op.add_column("queries", sa.Column("review_id", sa.String(64)))
    op.add_column("queries", sa.Column("frame_seq", sa.Integer))


def downgrade() -> None:
    op.drop_column("queries", "frame_seq")
    op.drop_column("queries", "review_id")
