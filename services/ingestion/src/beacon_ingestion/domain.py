"""The ingestion service's model: companies and their data, documents and their stages.

Pure values and rules, no I/O. Symbols keep the exchange suffix they were given
(`RELIANCE.NS`, `500325.BO`, `AAPL`); a bare symbol in a lookup also finds its `.NS` or `.BO`
listing. Fiscal periods are labelled as filers label them and stored canonically (`FY2024`,
`Q2FY25`, `H1FY24`); their end dates follow each company's fiscal-year end month (March for
Indian companies: `FY2024` ends 2024-03-31, `Q2FY25` 2024-09-30; December: `FY2018` is
calendar 2018).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

STAGES: tuple[str, ...] = ("download", "parse", "chunk", "embed", "index")

DOC_TYPES: frozenset[str] = frozenset(
    {
        "annual_report",
        "quarterly_result",
        "earnings_release",
        "investor_presentation",
        "earnings_call_transcript",
        "press_release",
        "news_article",
        "report_material",
        "other",
    }
)


# Customer material for the report writer (docs/ingestion.md, "Customer material"): owned by
# a report-API key, kept in its own vector collection, never listed, counted or searched by
# the research API.
MATERIAL = "report_material"
# The material's payload tags: `audience` is the customer it is about, or OFFER for the
# owner's own offer material; `opportunity_scope` the opportunity, or ANY_OPPORTUNITY.
OFFER = "_offer"
ANY_OPPORTUNITY = "_any"


class DocumentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class StageState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


# ---------------------------------------------------------------- symbols and periods

_SYMBOL = re.compile(r"^[A-Z0-9&_-]{1,20}(\.[A-Z]{1,4})?$")
INDIAN_SUFFIXES = (".NS", ".BO")


def normalize_symbol(raw: str) -> str:
    """Upper case, suffix kept as given: `reliance.ns` -> `RELIANCE.NS`, `aapl` -> `AAPL`."""
    value = raw.strip().upper()
    if not _SYMBOL.match(value):
        raise ValueError(f"invalid symbol {raw!r}")
    return value


def symbol_candidates(raw: str) -> list[str]:
    """The symbols a lookup tries, in order: `RELIANCE` -> RELIANCE, RELIANCE.NS, RELIANCE.BO
    (the catalogue's Indian listings answer to their bare NSE/BSE symbol); a suffixed symbol
    names only itself."""
    symbol = normalize_symbol(raw)
    if "." in symbol:
        return [symbol]
    return [symbol, *(symbol + suffix for suffix in INDIAN_SUFFIXES)]


def base_symbol(symbol: str) -> str:
    return symbol.split(".", 1)[0]


_ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}\d$")


def valid_isin(value: str) -> bool:
    """ISO 6166: two letters, nine alphanumerics, a Luhn check digit over the digit expansion."""
    if not _ISIN.match(value):
        return False
    digits = "".join(str(int(ch, 36)) for ch in value[:-1])
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return (10 - total % 10) % 10 == int(value[-1])


def is_indian(symbol: str, isin: str | None) -> bool:
    return symbol.endswith(INDIAN_SUFFIXES) or bool(isin and isin.startswith("IN"))


@dataclass(frozen=True)
class FiscalPeriod:
    label: str  # canonical: FY2024, Q2FY25 or H1FY24
    period_type: str  # annual | quarterly | half_yearly
    fiscal_year: int  # the calendar year in which the fiscal year ends
    quarter: int | None
    end_date: date
    half: int | None = None


_PERIOD_Q = re.compile(r"^Q([1-4])\s*[-/ ]?\s*(?:FY\s*'?)?(\d{2}|\d{4})$")  # Q2FY25, Q2 FY2025, Q2 2023
_PERIOD_Q_YEAR_FIRST = re.compile(r"^(?:FY\s*)?(\d{4})\s*[-/ ]?\s*Q([1-4])$")  # 2023Q2, 2023-Q2, FY2023 Q2
_PERIOD_H = re.compile(r"^H([12])\s*[-/ ]?\s*(?:FY\s*'?)?(\d{2}|\d{4})$")  # H1FY24, H1 2024
_PERIOD_H_YEAR_FIRST = re.compile(r"^(?:FY\s*)?(\d{4})\s*[-/ ]?\s*H([12])$")  # 2024H1
_PERIOD_FY = re.compile(r"^FY\s*'?(\d{2}|\d{4})$")
_PERIOD_FY_RANGE = re.compile(r"^FY\s*(\d{4})\s*-\s*(\d{2}|\d{4})$")


def _full_year(text: str) -> int:
    year = int(text)
    return 2000 + year if year < 100 else year


def _month_end(year: int, month: int) -> date:
    """The last day of `month` of `year`; months outside 1..12 roll into the next/previous year."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _checked_year(fy: int, raw: str) -> int:
    if not 1990 <= fy <= 2100:
        raise ValueError(f"invalid fiscal period {raw!r}: year out of range")
    return fy


def parse_period(raw: str, fiscal_year_end_month: int = 3) -> FiscalPeriod:
    """Accepts `FY2024`, `FY24`, `FY2023-24`, `Q2FY25`, `Q2 FY2025`, `Q2 2023`, `2023Q2`,
    `H1FY24`, `H1 2024` (case-insensitive); the year is the fiscal year as the filer labels it.
    End dates follow `fiscal_year_end_month` (3 = March: Q2FY25 ends 2024-09-30)."""
    text = raw.strip().upper()
    quarter = half = None
    if m := _PERIOD_Q.match(text):
        quarter, fy = int(m.group(1)), _full_year(m.group(2))
    elif m := _PERIOD_Q_YEAR_FIRST.match(text):
        quarter, fy = int(m.group(2)), int(m.group(1))
    elif m := _PERIOD_H.match(text):
        half, fy = int(m.group(1)), _full_year(m.group(2))
    elif m := _PERIOD_H_YEAR_FIRST.match(text):
        half, fy = int(m.group(2)), int(m.group(1))
    elif m := _PERIOD_FY.match(text):
        fy = _full_year(m.group(1))
    elif m := _PERIOD_FY_RANGE.match(text):
        start, tail = int(m.group(1)), m.group(2)
        fy = int(tail) if len(tail) == 4 else start // 100 * 100 + int(tail)
        if fy != start + 1:
            raise ValueError(f"invalid fiscal year range {raw!r}")
    else:
        raise ValueError(f"invalid fiscal period {raw!r}: expected FY2024, Q2FY25, 2023Q2 or H1FY24")
    fy = _checked_year(fy, raw)
    month = fiscal_year_end_month
    if quarter is not None:
        return FiscalPeriod(f"Q{quarter}FY{fy % 100:02d}", "quarterly", fy, quarter,
                            _month_end(fy, month - 3 * (4 - quarter)))
    if half is not None:
        return FiscalPeriod(f"H{half}FY{fy % 100:02d}", "half_yearly", fy, None,
                            _month_end(fy, month - 6 * (2 - half)), half)
    return FiscalPeriod(f"FY{fy}", "annual", fy, None, _month_end(fy, month))


def fiscal_year_of(day: date, fiscal_year_end_month: int = 3) -> int:
    """The fiscal year a calendar day belongs to (March year end: 2024-05-15 -> 2025)."""
    return day.year + 1 if day.month > fiscal_year_end_month else day.year


# ---------------------------------------------------------------- companies and their data


def number_out(value: Decimal | float | None) -> int | float | None:
    """Money is stored exactly; it is answered as an int when whole, as the contract shows."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass
class Company:
    symbol: str
    name: str
    nse_symbol: str | None
    sector: str | None = None
    industry: str | None = None
    market_cap_rank: int | None = None
    isin: str | None = None
    bse_code: str | None = None
    website: str | None = None
    ir_page_url: str | None = None
    aliases: list[str] = field(default_factory=list)
    active: bool = True
    id: int | None = None
    legal_name: str | None = None
    fiscal_year_end_month: int = 3
    indices: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "symbol": self.symbol,
            "name": self.name,
            "sector": self.sector,
            "industry": self.industry,
            "market_cap_rank": self.market_cap_rank,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "isin": self.isin,
            "nse_symbol": self.nse_symbol,
            "bse_code": self.bse_code,
            "website": self.website,
            "ir_page_url": self.ir_page_url,
            "legal_name": self.legal_name,
            "aliases": list(self.aliases),
            "fiscal_year_end_month": self.fiscal_year_end_month,
            "indices": list(self.indices),
            "active": self.active,
        }

    def period(self, raw: str) -> FiscalPeriod:
        """A fiscal period of this company, dated by its own fiscal-year end."""
        return parse_period(raw, self.fiscal_year_end_month)


_NAME_SUFFIX = re.compile(r"\s*\b(ltd|limited|ltd\.|co|corporation|corp)\.?\s*$", re.IGNORECASE)


def company_aliases(name: str, nse_symbol: str | None, first_words: dict[str, int]) -> list[str]:
    """Names a question may use for a company: the name without its legal suffix, the NSE
    symbol, the name with `and` as `&`, and the first word when no other company shares it.
    `first_words` counts first words across the whole catalogue."""
    base = name.strip()
    while (stripped := _NAME_SUFFIX.sub("", base)) != base:
        base = stripped
    aliases = [base, nse_symbol]
    if " and " in base:
        aliases.append(base.replace(" and ", " & "))
    first = base.split()[0] if base.split() else ""
    if len(first) >= 3 and first_words.get(first.lower(), 0) == 1 and first.lower() != base.lower():
        aliases.append(first)
    seen: set[str] = set()
    unique = []
    for alias in aliases:
        if alias and alias.lower() not in seen:
            seen.add(alias.lower())
            unique.append(alias)
    return unique


@dataclass
class Fundamentals:
    symbol: str
    period: str
    period_type: str
    period_end_date: date
    revenue: Decimal | None = None
    net_income: Decimal | None = None
    eps: float | None = None
    pe_ratio: float | None = None
    roe: float | None = None
    debt_to_equity: float | None = None
    market_cap: Decimal | None = None

    def row(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "period_type": self.period_type,
            "period_end_date": self.period_end_date.isoformat(),
            "revenue": number_out(self.revenue),
            "net_income": number_out(self.net_income),
            "eps": self.eps,
            "pe_ratio": self.pe_ratio,
            "roe": self.roe,
            "debt_to_equity": self.debt_to_equity,
        }

    def latest(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "revenue": number_out(self.revenue),
            "net_income": number_out(self.net_income),
            "eps": self.eps,
            "pe_ratio": self.pe_ratio,
            "market_cap": number_out(self.market_cap),
        }


@dataclass
class Price:
    symbol: str
    date: date
    open: float
    high: float
    low: float
    close: float
    volume: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


@dataclass
class NewsItem:
    symbol: str
    title: str
    url: str
    published_at: datetime
    source: str | None = None
    summary: str | None = None
    sentiment: str | None = None
    sentiment_score: float | None = None
    id: int | None = None

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "summary": self.summary,
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "published_at": iso_utc(self.published_at),
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z")


# ---------------------------------------------------------------- documents


@dataclass
class NewDocument:
    doc_type: str
    title: str
    company_id: int | None = None
    company_symbol: str | None = None
    fiscal_period: str | None = None
    document_date: date | None = None
    source_url: str | None = None
    storage_path: str | None = None
    sha256: str | None = None
    file_size_bytes: int | None = None
    content_type: str | None = None
    customer_id: str | None = None
    opportunity_id: str | None = None
    owner: str | None = None


@dataclass
class Document(NewDocument):
    id: int = 0
    status: DocumentStatus = DocumentStatus.PENDING
    chunk_count: int = 0
    page_count: int | None = None
    error: str | None = None
    duplicate_of: int | None = None
    attempts: int = 0  # runs started (see pipeline/runner.py)
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def job_id(self) -> str:
        return job_id_for(self.id)

    @property
    def is_material(self) -> bool:
        return self.doc_type == MATERIAL

    def material_detail(self) -> dict[str, Any]:
        """A customer document as the report API shows it."""
        return {
            "document_id": self.id,
            "title": self.title,
            "customer_id": self.customer_id,
            "opportunity_id": self.opportunity_id,
            "company_symbol": self.company_symbol,
            "content_type": self.content_type,
            "status": self.status.value,
            "page_count": self.page_count,
            "chunk_count": self.chunk_count,
            "file_size_bytes": self.file_size_bytes,
            "error": self.error,
            "created_at": iso_utc(self.created_at),
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_type": self.doc_type,
            "title": self.title,
            "fiscal_period": self.fiscal_period,
            "document_date": self.document_date.isoformat() if self.document_date else None,
            "status": self.status.value,
            "chunk_count": self.chunk_count,
            "download_url": f"/documents/{self.id}/download",
        }

    def detail(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "company_id": self.company_id,
            "company_symbol": self.company_symbol,
            "doc_type": self.doc_type,
            "title": self.title,
            "fiscal_period": self.fiscal_period,
            "document_date": self.document_date.isoformat() if self.document_date else None,
            "status": self.status.value,
            "chunk_count": self.chunk_count,
            "storage_path": self.storage_path,
            "file_size_bytes": self.file_size_bytes,
            "page_count": self.page_count,
            "created_at": iso_utc(self.created_at),
        }


def job_id_for(document_id: int) -> str:
    return f"doc-{document_id}"


@dataclass
class StageRecord:
    stage: str
    state: StageState = StageState.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    detail: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Chunk:
    id: str  # the vector point id, derived from content
    document_id: int
    chunk_index: int
    page_start: int
    page_end: int
    section: str | None
    text: str


class BootstrapState(StrEnum):
    """Where a bootstrap task is: STARTED when accepted, RUNNING while the worker queues its
    documents, QUEUED once every document it could plan is queued (the documents then run on
    their own), FAILED if the task itself could not run."""

    STARTED = "started"
    RUNNING = "running"
    QUEUED = "queued"
    FAILED = "failed"


@dataclass
class BootstrapItem:
    """One planned filing of a bootstrap task: a document once queued, or the reason it is not."""

    position: int
    symbol: str
    doc_type: str
    fiscal_period: str
    source_url: str | None = None  # None: no source registered for it
    document_id: int | None = None
    reason: str | None = None  # why it was not queued


@dataclass
class BootstrapTask:
    task_id: str
    owner: str
    companies: list[str]
    doc_types: list[str]
    years: list[int]
    status: BootstrapState = BootstrapState.STARTED
    items: list[BootstrapItem] = field(default_factory=list)
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
