"""SQLAlchemy Core table definitions matching migrations/ (the gateway schema)."""

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320)),
    sa.Column("full_name", sa.String(200)),
    sa.Column("role", sa.String(20)),
    sa.Column("daily_query_limit", sa.Integer),
    sa.Column("password_hash", sa.Text),
    sa.Column("disabled", sa.Boolean),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)

refresh_tokens = sa.Table(
    "refresh_tokens", metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("family_id", sa.String(64)),
    sa.Column("user_id", sa.Integer),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("key_hash", sa.String(64)),
    sa.Column("prefix", sa.String(16)),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)
