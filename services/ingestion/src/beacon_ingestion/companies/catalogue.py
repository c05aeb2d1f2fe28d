"""The company catalogue: the NSE index list file read into companies.

The list file (`ind_nifty50list.csv`) has `Company Name, Industry, Symbol, Series, ISIN Code`.
Optional extra columns (`Industry Detail`/`industry`, `Market Cap Rank`, `BSE Code`, `Website`,
`IR Page URL`) are read when present; anything absent stays null.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from importlib import resources

from beacon_ingestion.companies.imports import InvalidImport, RowError, invalid_csv
from beacon_ingestion.domain import Company, company_aliases, normalize_symbol

_ISIN = re.compile(r"^IN[A-Z0-9]{9}\d$")
_REQUIRED = ("Company Name", "Industry", "Symbol")
_OPTIONAL = {
    "industry": ("Industry Detail", "industry_detail", "Sub Industry"),
    "market_cap_rank": ("Market Cap Rank", "market_cap_rank"),
    "bse_code": ("BSE Code", "bse_code"),
    "website": ("Website", "website"),
    "ir_page_url": ("IR Page URL", "ir_page_url"),
}


def bundled_constituents_csv() -> str:
    return (resources.files("beacon_ingestion") / "data" / "nifty50_constituents.csv").read_text(
        encoding="utf-8"
    )


def parse_constituents(text: str) -> list[Company]:
    """Every row validated; all errors reported together with their line numbers."""
    # newline="": the csv module reads line ends itself (a bare CR is a line end, not an error).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _companies(reader)
    except csv.Error as exc:
        raise invalid_csv(reader, exc) from exc


def _companies(reader: csv.DictReader) -> list[Company]:
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise InvalidImport([RowError(1, name, "missing column") for name in missing])
    errors: list[RowError] = []
    companies: list[Company] = []
    seen: set[str] = set()
    for raw in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        company = _company(row, line, errors)
        if company is None:
            continue
        if company.symbol in seen:
            errors.append(RowError(line, "Symbol", f"duplicate symbol {company.nse_symbol}"))
            continue
        seen.add(company.symbol)
        companies.append(company)
    if errors:
        raise InvalidImport(errors)
    if not companies:
        raise InvalidImport([RowError(1, "file", "no companies in the file")])
    first_words = Counter(_first_word(c.name) for c in companies)
    for company in companies:
        company.aliases = company_aliases(company.name, company.nse_symbol, first_words)
    return companies


def _first_word(name: str) -> str:
    words = name.split()
    return words[0].lower() if words else ""


def _company(row: dict[str, str], line: int, errors: list[RowError]) -> Company | None:
    before = len(errors)
    name, sector, nse = row.get("Company Name", ""), row.get("Industry", ""), row.get("Symbol", "")
    if not name:
        errors.append(RowError(line, "Company Name", "required"))
    symbol = ""
    try:
        symbol = normalize_symbol(nse)
    except ValueError as exc:
        errors.append(RowError(line, "Symbol", str(exc)))
    isin = row.get("ISIN Code") or None
    if isin and not _ISIN.match(isin):
        errors.append(RowError(line, "ISIN Code", f"invalid ISIN {isin!r}"))
    extra: dict[str, str | int | None] = {}
    for attr, columns in _OPTIONAL.items():
        value = next((row[c] for c in columns if row.get(c)), None)
        if attr == "market_cap_rank" and value is not None:
            try:
                value = int(value)
            except ValueError:
                errors.append(RowError(line, columns[0], "not an integer"))
                continue
        extra[attr] = value
    if len(errors) > before:
        return None
    return Company(
        symbol=symbol, name=name, nse_symbol=symbol[:-3], sector=sector or None, isin=isin,
        **extra,  # type: ignore[arg-type]
    )
