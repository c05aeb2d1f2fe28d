"""The company catalogue: companies of any exchange, read from a CSV or given one by one.

The CSV may be the NSE index list file (`ind_nifty50list.csv`: `Company Name, Industry,
Symbol, Series, ISIN Code`) or any file with `Company Name` and `Symbol` and, optionally,
`Exchange` (NSE, BSE or another; a bare NSE symbol becomes `.NS`, BSE `.BO`), `ISIN Code`
(any valid ISIN), `Legal Name`, `Aliases` and `Indices` (separated by `;` or `|`), `Fiscal Year
End` (a month: 3, Mar, March), `Active` (false retires the company), and the detail columns
(`Industry Detail`, `Market Cap Rank`, `BSE Code`, `Website`, `IR Page URL`). Without an
`Exchange` column a bare symbol with an Indian ISIN is the NSE listing (the index file's
case); every other symbol keeps the suffix it was given.

Indian companies (an Indian ISIN or an NSE/BSE listing) end their fiscal year in March unless
the file says otherwise; for others the fiscal-year end month is required.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources

from beacon_ingestion.companies.imports import InvalidImport, RowError, invalid_csv
from beacon_ingestion.domain import (
    Company,
    base_symbol,
    company_aliases,
    is_indian,
    normalize_symbol,
    valid_isin,
)

_REQUIRED = ("Company Name", "Symbol")
_OPTIONAL = {
    "industry": ("Industry Detail", "industry_detail", "Sub Industry"),
    "market_cap_rank": ("Market Cap Rank", "market_cap_rank"),
    "bse_code": ("BSE Code", "bse_code"),
    "website": ("Website", "website"),
    "ir_page_url": ("IR Page URL", "ir_page_url"),
    "legal_name": ("Legal Name", "legal_name"),
}
_EXCHANGE_SUFFIX = {"NSE": ".NS", "BSE": ".BO"}
_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for name in names}
_LIST_SPLIT = re.compile(r"\s*[;|]\s*")
_INDEX = re.compile(r"^[A-Z0-9][A-Z0-9 &._-]{0,39}$")
_FALSE = {"false", "no", "0", "n", "inactive", "retired"}
_TRUE = {"true", "yes", "1", "y", "active"}


@dataclass
class CatalogueRow:
    """A company as a file or a request gives it: `given` names the fields it actually set,
    so an upsert changes those and leaves the rest of a stored company alone."""

    company: Company
    given: set[str] = field(default_factory=set)


def bundled_constituents_csv() -> str:
    return (resources.files("beacon_ingestion") / "data" / "nifty50_constituents.csv").read_text(
        encoding="utf-8"
    )


def fiscal_month(value: str | int) -> int:
    """3, "03", "Mar", "March" -> 3."""
    text = str(value).strip().lower()
    month = int(text) if text.isdigit() else _MONTHS.get(text.rstrip("."), 0)
    if not 1 <= month <= 12:
        raise ValueError(f"not a month: {value!r}")
    return month


def index_names(values: list[str]) -> list[str]:
    """`nifty 50`, `NIFTY50` -> `NIFTY50`: upper case, spaces dropped, order kept, no repeats."""
    out: list[str] = []
    for value in values:
        name = re.sub(r"\s+", "", value.strip().upper())
        if not name:
            continue
        if not _INDEX.match(name):
            raise ValueError(f"invalid index name {value!r}")
        if name not in out:
            out.append(name)
    return out


def listed_symbol(raw: str, exchange: str | None, isin: str | None) -> str:
    symbol = normalize_symbol(raw)
    if "." in symbol:
        return symbol
    if exchange:
        return symbol + _EXCHANGE_SUFFIX.get(exchange.strip().upper(), "")
    return symbol + ".NS" if isin and isin.startswith("IN") else symbol


def parse_constituents(text: str, *, index: str | None = None) -> list[CatalogueRow]:
    """Every row validated; all errors reported together with their line numbers. `index`
    (e.g. NIFTY50) is added to every row's indices."""
    # newline="": the csv module reads line ends itself (a bare CR is a line end, not an error).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _rows(reader, index)
    except csv.Error as exc:
        raise invalid_csv(reader, exc) from exc


def _rows(reader: csv.DictReader, index: str | None) -> list[CatalogueRow]:
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [name for name in _REQUIRED if name not in header]
    if missing:
        raise InvalidImport([RowError(1, name, "missing column") for name in missing])
    errors: list[RowError] = []
    rows: list[CatalogueRow] = []
    seen: set[str] = set()
    for raw in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        row = _row(values, line, errors, index)
        if row is None:
            continue
        if row.company.symbol in seen:
            errors.append(RowError(line, "Symbol", f"duplicate symbol {row.company.symbol}"))
            continue
        seen.add(row.company.symbol)
        rows.append(row)
    if errors:
        raise InvalidImport(errors)
    if not rows:
        raise InvalidImport([RowError(1, "file", "no companies in the file")])
    first_words = Counter(_first_word(r.company.name) for r in rows)
    for row in rows:
        computed = company_aliases(row.company.name, row.company.nse_symbol or base_symbol(row.company.symbol),
                                   first_words)
        row.company.aliases = _merged(row.company.aliases, computed)
        row.given.add("aliases")
    return rows


def _merged(first: list[str], second: list[str]) -> list[str]:
    out, seen = [], set()
    for alias in [*first, *second]:
        if alias and alias.lower() not in seen:
            seen.add(alias.lower())
            out.append(alias)
    return out


def _first_word(name: str) -> str:
    words = name.split()
    return words[0].lower() if words else ""


def _row(row: dict[str, str], line: int, errors: list[RowError], index: str | None) -> CatalogueRow | None:
    before = len(errors)
    given = {"name", "symbol", "nse_symbol"}
    name, nse = row.get("Company Name", ""), row.get("Symbol", "")
    if not name:
        errors.append(RowError(line, "Company Name", "required"))
    isin = row.get("ISIN Code") or row.get("ISIN") or None
    if isin and not valid_isin(isin.upper()):
        errors.append(RowError(line, "ISIN Code", f"invalid ISIN {isin!r}"))
    isin = isin.upper() if isin else None
    symbol = ""
    try:
        symbol = listed_symbol(nse, row.get("Exchange") or None, isin)
    except ValueError as exc:
        errors.append(RowError(line, "Symbol", str(exc)))
    extra: dict[str, str | int | None] = {}
    for attr, columns in _OPTIONAL.items():
        value = next((row[c] for c in columns if row.get(c)), None)
        if value is None:
            continue
        if attr == "market_cap_rank":
            try:
                value = int(value)
            except ValueError:
                errors.append(RowError(line, columns[0], "not an integer"))
                continue
        extra[attr] = value
        given.add(attr)
    if row.get("Industry"):
        extra["sector"] = row["Industry"]
        given.add("sector")
    if isin:
        extra["isin"] = isin
        given.add("isin")
    month = 3
    if row.get("Fiscal Year End"):
        try:
            month = fiscal_month(row["Fiscal Year End"])
            given.add("fiscal_year_end_month")
        except ValueError as exc:
            errors.append(RowError(line, "Fiscal Year End", str(exc)))
    elif symbol and not is_indian(symbol, isin):
        errors.append(RowError(line, "Fiscal Year End", "required for a company outside India"))
    aliases = [a for a in _LIST_SPLIT.split(row.get("Aliases", "")) if a]
    indices: list[str] = []
    try:
        indices = index_names([*_LIST_SPLIT.split(row.get("Indices", "")), *([index] if index else [])])
        if indices:
            given.add("indices")
    except ValueError as exc:
        errors.append(RowError(line, "Indices", str(exc)))
    active = True
    if row.get("Active"):
        flag = row["Active"].lower()
        if flag not in _TRUE | _FALSE:
            errors.append(RowError(line, "Active", "expected true or false"))
        active = flag not in _FALSE
    given.add("active")
    if len(errors) > before:
        return None
    company = Company(
        symbol=symbol, name=name, nse_symbol=base_symbol(symbol) if symbol.endswith(".NS") else None,
        aliases=aliases, fiscal_year_end_month=month, indices=indices, active=active,
        **extra,  # type: ignore[arg-type]
    )
    return CatalogueRow(company, given)
