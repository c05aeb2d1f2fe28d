"""Reviews of held answers and their append-only audit trail."""

revision = "0001"
down_revision = None

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

STATUSES = "'pending', 'approved', 'rejected', 'edited', 'expired'"
ACTIONS = "'received', 'approved', 'rejected', 'edited', 'expired'"


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(64), primary_key=True),
        # One review per query: a redelivered ReviewRequired finds the one it made.
        sa.Column("query_id", sa.String(64), nullable=False, unique=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("generated_response", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("citations", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("workflow_state", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(320)),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("notes", sa.Text),
        sa.Column("edited_response", sa.Text),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(f"status in ({STATUSES})", name="reviews_status"),
        sa.CheckConstraint("(status = 'pending') = (reviewed_at is null)", name="reviews_decided"),
        sa.CheckConstraint("status <> 'edited' or edited_response is not null",
                           name="reviews_edited_text"),
    )
    op.create_index("reviews_pending", "reviews", ["created_at", "id"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("reviews_expiry", "reviews", ["expires_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("reviews_unpublished", "reviews", ["reviewed_at"],
                    postgresql_where=sa.text("status <> 'pending' and published_at is null"))
    op.create_table(
        "review_audit",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("review_id", sa.String(64), sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("text_before", sa.Text),
        sa.Column("text_after", sa.Text),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint(f"action in ({ACTIONS})", name="review_audit_action"),
    )
    op.create_index("review_audit_review", "review_audit", ["review_id", "id"])
    # The trail is append-only for everyone who connects as the service, not by convention.
    op.execute("""
        CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'review_audit is append-only (% refused)', TG_OP;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER review_audit_no_change BEFORE UPDATE OR DELETE ON review_audit
        FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()
    """)
    op.execute("""
        CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit
        FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only()
    """)


def downgrade() -> None:
    op.drop_table("review_audit")
    op.execute("DROP FUNCTION review_audit_append_only()")
    op.drop_table("reviews")
