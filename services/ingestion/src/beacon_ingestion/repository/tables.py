"""The `ingestion` schema, written once: SQLAlchemy Core tables the adapter queries and the
migrations are checked against (tests/integration/ingestion/test_ingestion_schema.py runs
them into an empty schema and compares with Alembic's autogenerate). A change here needs a
migration: `beacon-ingestion new-migration "what changed"` writes it from the difference."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)
MONEY = sa.Numeric(30, 4)

companies = sa.Table(
    "companies", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("symbol", sa.String(32), nullable=False, unique=True),
    sa.Column("nse_symbol", sa.String(32)),  # null for a company not listed on the NSE
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("sector", sa.String(200)),
    sa.Column("industry", sa.String(200)),
    sa.Column("market_cap_rank", sa.Integer),
    sa.Column("isin", sa.String(12)),
    sa.Column("bse_code", sa.String(20)),
    sa.Column("website", sa.Text),
    sa.Column("ir_page_url", sa.Text),
    sa.Column("aliases", JSONB, nullable=False, server_default="[]"),
    sa.Column("legal_name", sa.String(300)),
    sa.Column("fiscal_year_end_month", sa.SmallInteger, nullable=False, server_default="3"),
    sa.Column("indices", JSONB, nullable=False, server_default="[]"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("fiscal_year_end_month between 1 and 12", name="companies_fiscal_year_end_month"),
)

fundamentals = sa.Table(
    "fundamentals", metadata,
    sa.Column("company_id", sa.Integer, sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("period", sa.String(16), primary_key=True),
    sa.Column("period_type", sa.String(16), nullable=False),
    sa.Column("period_end_date", sa.Date, nullable=False),
    sa.Column("revenue", MONEY),
    sa.Column("net_income", MONEY),
    sa.Column("market_cap", MONEY),
    sa.Column("eps", sa.Float),
    sa.Column("pe_ratio", sa.Float),
    sa.Column("roe", sa.Float),
    sa.Column("debt_to_equity", sa.Float),
    sa.CheckConstraint("period_type in ('annual', 'quarterly')", name="fundamentals_period_type"),
)

prices = sa.Table(
    "prices", metadata,
    sa.Column("company_id", sa.Integer, sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("open", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    sa.Column("low", sa.Float, nullable=False),
    sa.Column("close", sa.Float, nullable=False),
    sa.Column("volume", sa.BigInteger),
)

news = sa.Table(
    "news", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("company_id", sa.Integer, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("source", sa.String(200)),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("summary", sa.Text),
    sa.Column("sentiment", sa.String(16)),
    sa.Column("sentiment_score", sa.Float),
    sa.Column("published_at", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("company_id", "url", name="news_company_url"),
    sa.Index("news_company_published", "company_id", "published_at"),
)

documents = sa.Table(
    "documents", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("company_id", sa.Integer, sa.ForeignKey("companies.id", ondelete="SET NULL")),
    sa.Column("company_symbol", sa.String(32)),
    sa.Column("doc_type", sa.String(40), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("fiscal_period", sa.String(16)),
    sa.Column("document_date", sa.Date),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("chunk_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("page_count", sa.Integer),
    sa.Column("source_url", sa.Text),
    sa.Column("storage_path", sa.Text),
    sa.Column("sha256", sa.String(64)),
    sa.Column("file_size_bytes", sa.BigInteger),
    sa.Column("content_type", sa.String(100)),
    sa.Column("customer_id", sa.String(100)),
    sa.Column("opportunity_id", sa.String(100)),
    sa.Column("owner", sa.String(200)),
    sa.Column("error", sa.Text),
    sa.Column("duplicate_of", sa.BigInteger),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("started_at", TS),
    sa.Column("completed_at", TS),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("status in ('pending', 'processing', 'completed', 'failed')", name="documents_status"),
    sa.Index("documents_sha256", "sha256"),
    sa.Index("documents_source_url", "source_url"),
    sa.Index("documents_company_symbol", "company_symbol"),
    sa.Index("documents_status", "status"),
)

document_stages = sa.Table(
    "document_stages", metadata,
    sa.Column("document_id", sa.BigInteger, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("stage", sa.String(16), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    sa.Column("detail", sa.Text),
    sa.Column("error", sa.Text),
)

chunks = sa.Table(
    "chunks", metadata,
    sa.Column("document_id", sa.BigInteger, sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("chunk_index", sa.Integer, primary_key=True),
    sa.Column("point_id", sa.String(36), nullable=False),
    sa.Column("page_start", sa.Integer, nullable=False),
    sa.Column("page_end", sa.Integer, nullable=False),
    sa.Column("section", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
)

bootstrap_tasks = sa.Table(
    "bootstrap_tasks", metadata,
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
    sa.CheckConstraint("status in ('started', 'running', 'queued', 'failed')", name="bootstrap_tasks_status"),
)

# One row per planned filing, in plan order. No foreign key to documents: a document deleted
# later leaves the task's history as it was (the read shows it as gone).
bootstrap_items = sa.Table(
    "bootstrap_items", metadata,
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
