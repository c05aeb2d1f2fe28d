"""Use cases on the catalogue and company data, shared by the admin API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beacon_runtime.logs import get_logger

from beacon_ingestion.companies.catalogue import bundled_constituents_csv, parse_constituents
from beacon_ingestion.companies.imports import (
    PARSERS,
    InvalidImport,
    RowError,
    detect_format,
    parse_rows,
)
from beacon_ingestion.repository.port import CatalogueRefresh, IngestionRepository, UnknownCompany

log = get_logger(__name__)


@dataclass(frozen=True)
class ImportResult:
    kind: str
    imported: int
    symbols: list[str]

    def body(self) -> dict[str, Any]:
        return {"kind": self.kind, "imported": self.imported, "symbols": self.symbols}


async def refresh_catalogue(repo: IngestionRepository, csv_text: str) -> CatalogueRefresh:
    companies = parse_constituents(csv_text)
    result = await repo.refresh_companies(companies)
    log.info("catalogue.refreshed", total=result.total, added=len(result.added),
             deactivated=len(result.deactivated))
    return result


async def seed_catalogue_if_empty(repo: IngestionRepository) -> bool:
    if await repo.count_companies() > 0:
        return False
    await refresh_catalogue(repo, bundled_constituents_csv())
    return True


async def import_company_data(
    repo: IngestionRepository, kind: str, text: str, *, filename: str | None = None,
    content_type: str | None = None,
) -> ImportResult:
    """Validate every row, then write all of them or none (InvalidImport lists the lines)."""
    fmt = detect_format(filename, content_type, text)
    parsed = parse_rows(text, fmt, PARSERS[kind])
    rows = [row for _, _, row in parsed]
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
