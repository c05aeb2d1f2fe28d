"""A catalogue for any listed company: legal name, fiscal-year end month, indices; the NSE
symbol is null for a company not listed there. Existing rows that are in the bundled Nifty 50
list are tagged NIFTY50 (that list was the only way in before)."""

revision = "0003"
down_revision = "0002"

import csv
import io
from importlib import resources

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB


def _nifty50_symbols() -> list[str]:
    text = (resources.files("beacon_ingestion") / "data" / "nifty50_constituents.csv").read_text("utf-8")
    return [row["Symbol"].strip().upper() + ".NS" for row in csv.DictReader(io.StringIO(text))]


def upgrade() -> None:
    op.alter_column("companies", "nse_symbol", existing_type=sa.String(32), nullable=True)
    op.add_column("companies", sa.Column("legal_name", sa.String(300)))
    op.add_column("companies", sa.Column("fiscal_year_end_month", sa.SmallInteger, nullable=False,
                                         server_default="3"))
    op.add_column("companies", sa.Column("indices", JSONB, nullable=False, server_default="[]"))
    op.create_check_constraint("companies_fiscal_year_end_month", "companies",
                               "fiscal_year_end_month between 1 and 12")
    companies = sa.table("companies", sa.column("symbol", sa.String), sa.column("indices", JSONB))
    op.execute(companies.update().where(companies.c.symbol.in_(_nifty50_symbols()))
               .values(indices=sa.cast(sa.literal('["NIFTY50"]'), JSONB)))


def downgrade() -> None:
    op.drop_constraint("companies_fiscal_year_end_month", "companies")
    op.drop_column("companies", "indices")
    op.drop_column("companies", "fiscal_year_end_month")
    op.drop_column("companies", "legal_name")
    op.execute("update companies set nse_symbol = split_part(symbol, '.', 1) where nse_symbol is null")
    op.alter_column("companies", "nse_symbol", existing_type=sa.String(32), nullable=False)
