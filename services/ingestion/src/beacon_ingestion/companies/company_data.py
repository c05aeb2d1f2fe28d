"""Use cases on the catalogue and company data, shared by the admin API and the CLI."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from beacon_runtime.logs import get_logger

from beacon_ingestion.companies.catalogue import CatalogueRow, bundled_constituents_csv, parse_constituents
from beacon_ingestion.companies.imports import (
    PARSERS,
    InvalidImport,
    RowError,
    detect_format,
    parse_rows,
)
from beacon_ingestion.domain import Company, parse_period, symbol_candidates
from beacon_ingestion.repository.port import CatalogueRefresh, IngestionRepository, UnknownCompany

log = get_logger(__name__)


@dataclass(frozen=True)
class ImportResult:
    kind: str
    imported: int
    symbols: list[str]

    def body(self) -> dict[str, Any]:
        return {"kind": self.kind, "imported": self.imported, "symbols": self.symbols}


SEED_INDEX = "NIFTY50"  # the bundled list is the Nifty 50


async def find_company(repo: IngestionRepository, raw: str) -> Company | None:
    """By symbol as given; a bare symbol also finds its .NS, then its .BO listing."""
    try:
        candidates = symbol_candidates(raw)
    except ValueError:
        return None
    found = await repo.companies_by_symbol(candidates)
    return next((found[s] for s in candidates if s in found), None)


def _merge(stored: Company, row: CatalogueRow) -> Company:
    merged = copy.deepcopy(stored)
    for name in row.given:
        value = getattr(row.company, name)
        if name == "aliases":
            value = list(dict.fromkeys([*stored.aliases, *value]))  # an import never drops aliases
        elif name == "indices":
            value = list(dict.fromkeys([*stored.indices, *value]))
        setattr(merged, name, value)
    return merged


async def upsert_catalogue(repo: IngestionRepository, rows: list[CatalogueRow]) -> CatalogueRefresh:
    """Add the new companies, update the fields each row gives on the known ones, and leave
    every company the rows do not mention as it is. A row with `active` false retires its
    company (`deactivated`)."""
    stored = await repo.companies_by_symbol([r.company.symbol for r in rows])
    companies = []
    retired = []
    for row in rows:
        old = stored.get(row.company.symbol)
        companies.append(row.company if old is None else _merge(old, row))
        if not row.company.active and (old is None or old.active):
            retired.append(row.company.symbol)
    result = await repo.upsert_companies(companies)
    result.deactivated = retired
    log.info("catalogue.upserted", total=result.total, added=len(result.added),
             updated=len(result.updated), retired=len(retired))
    return result


async def refresh_catalogue(repo: IngestionRepository, csv_text: str, *, index: str | None = None) -> CatalogueRefresh:
    return await upsert_catalogue(repo, parse_constituents(csv_text, index=index))


async def seed_catalogue_if_empty(repo: IngestionRepository) -> bool:
    if await repo.count_companies() > 0:
        return False
    await refresh_catalogue(repo, bundled_constituents_csv(), index=SEED_INDEX)
    return True


async def import_company_data(
    repo: IngestionRepository, kind: str, text: str, *, filename: str | None = None,
    content_type: str | None = None,
) -> ImportResult:
    """Validate every row, then write all of them or none (InvalidImport lists the lines)."""
    fmt = detect_format(filename, content_type, text)
    parsed = parse_rows(text, fmt, PARSERS[kind])
    rows = [row for _, _, row in parsed]
    listed: dict[str, Company | None] = {}
    for symbol in {row.symbol for row in rows}:
        listed[symbol] = await find_company(repo, symbol)
    for row in rows:  # "RELIANCE" in a file names the catalogue's RELIANCE.NS
        company = listed[row.symbol]
        if company is not None:
            march = parse_period(row.period).end_date if kind == "fundamentals" else None
            if march is not None and company.fiscal_year_end_month != 3 and row.period_end_date == march:
                row.period_end_date = company.period(row.period).end_date  # not given: the company's own
            row.symbol = company.symbol
    writer = {"fundamentals": repo.upsert_fundamentals, "prices": repo.upsert_prices,
              "news": repo.upsert_news}[kind]
    try:
        count = await writer(rows)
    except UnknownCompany as exc:
        unknown = set(exc.symbols)
        raise InvalidImport([
            RowError(line, "symbol", f"unknown company {row.symbol}", unit)
            for line, unit, row in parsed if row.symbol in unknown
        ][:100]) from exc
    symbols = sorted({row.symbol for row in rows})
    log.info("company_data.imported", kind=kind, rows=count, companies=len(symbols))
    return ImportResult(kind=kind, imported=count, symbols=symbols)
