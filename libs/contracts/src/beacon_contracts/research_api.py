"""Requests and responses of the research API (contract 003, base path /api/v1).

The gateway documents and validates every public operation with these models; the
services that answer them (ingestion, rag-query, hitl) give the same shapes. Response
models list what the contract shows and what we add; additional fields are allowed, so a
service may add one before the model does.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from beacon_contracts.text import Line, Text

Role = Literal["user", "reviewer", "admin"]
Number = float  # JSON numbers: money is answered as an integer when whole
Symbol = Annotated[Line, Field(min_length=1, max_length=40, description="e.g. RELIANCE.NS")]
ShortLine = Annotated[Line, Field(max_length=100)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody
    request_id: str | None


# ---------------------------------------------------------------- identity


class LoginRequest(_Request):
    email: Annotated[Line, Field(min_length=3, max_length=320)]
    password: Annotated[Line, Field(min_length=1, max_length=1024)]


class RefreshRequest(_Request):
    refresh_token: Annotated[Line, Field(min_length=10, max_length=4096)]


class LogoutRequest(_Request):
    refresh_token: Annotated[Line, Field(max_length=4096)] | None = None


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class MeResponse(BaseModel):
    id: int
    email: str
    full_name: str
    role: Role
    daily_query_limit: int
    queries_today: int


class CreateUserRequest(_Request):
    email: Annotated[Line, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    password: Annotated[Line, Field(min_length=8, max_length=1024)]
    full_name: Annotated[Line, Field(min_length=1, max_length=200)]
    role: Role = "user"
    daily_query_limit: int | None = Field(default=None, ge=1, le=100_000)


class UpdateUserRequest(_Request):
    """Fields left out stay as they are."""

    full_name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    role: Role | None = None
    daily_query_limit: int | None = Field(default=None, ge=1, le=100_000)


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: Role
    daily_query_limit: int
    disabled: bool
    created_at: datetime | None


class UserList(BaseModel):
    total: int
    limit: int
    offset: int
    users: list[UserOut]


class CreateApiKeyRequest(_Request):
    name: Annotated[Line, Field(min_length=1, max_length=200)]


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="Shown once; only its hash is stored")


class ApiKeyList(BaseModel):
    keys: list[ApiKeyOut]


# ---------------------------------------------------------------- questions (rag-query)


class QueryFilters(_Request):
    company_symbol: Annotated[Line, Field(max_length=40)] | None = None
    fiscal_period: Annotated[Line, Field(max_length=20)] | None = None
    document_types: list[Annotated[Line, Field(max_length=40)]] | None = Field(default=None, max_length=10)


class QueryRequest(_Request):
    question: Annotated[Text, Field(min_length=10, max_length=2000)]
    filters: QueryFilters | None = None
    stream: bool = False


class Citation(BaseModel):
    index: int
    document_id: int | None
    document_title: str
    source_text: str | None = None
    page_number: int | None


class RetrievedPassage(BaseModel):
    """One passage retrieved for an answer (an addition to the seed's trace)."""

    rank: int
    document_id: int | None = None
    document_title: str | None = None
    page_number: int | None = None
    score: Number | None = None
    grade: Number | None = None
    relevant: bool | None = None


class WorkflowTrace(BaseModel):
    nodes_executed: list[str]
    rewrite_count: int = 0
    generation_attempts: int = 0
    # Additions: the companies, periods and document types understood, and every passage
    # retrieved in ranked order.
    understood: dict[str, list[str]] | None = None
    retrieved_passages: list[RetrievedPassage] = []


class QueryMetrics(BaseModel):
    latency_ms: Number | None = None
    token_count_input: int | None = None
    token_count_output: int | None = None
    retrieval_score: Number | None = None
    faithfulness_score: Number | None = None


QueryStatus = Literal["processing", "completed", "failed", "hitl_pending", "rejected", "cancelled"]


class QueryReview(BaseModel):
    """Why an answer was held for a review and, once decided, who reviewed it (docs/hitl.md)."""

    id: str | None
    status: Literal["pending", "approved", "edited", "rejected", "expired"]
    reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None


class QueryResult(BaseModel):
    """A question and its answer; `response` stays null until a review lets it out."""

    id: str
    question: str
    response: str | None
    citations: list[Citation]
    status: QueryStatus
    latency_ms: Number | None
    workflow_trace: WorkflowTrace
    metrics: QueryMetrics
    created_at: datetime | None
    completed_at: datetime | None
    review: QueryReview | None = None


class QueryAccepted(BaseModel):
    """202 of POST /query when the answer takes longer than the wait: poll GET /query/{id}."""

    id: str
    status: Literal["processing"]


class QuerySummary(BaseModel):
    id: str
    question: str
    status: QueryStatus
    latency_ms: Number | None
    created_at: datetime | None


class QueryHistory(BaseModel):
    total: int
    limit: int
    offset: int
    queries: list[QuerySummary]


class HistoryParams(_Request):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class FeedbackRequest(_Request):
    rating: int = Field(ge=1, le=5)
    feedback: Annotated[Text, Field(max_length=4000)] | None = None


class FeedbackOut(BaseModel):
    query_id: str
    rating: int
    feedback: str | None
    created_at: datetime | None


class QueryStatsParams(_Request):
    period: Literal["24h", "7d", "30d"] = "7d"


class QueryStats(BaseModel):
    period: str
    total_queries: int
    avg_latency_ms: Number | None
    p95_latency_ms: Number | None
    by_status: dict[str, int]
    avg_faithfulness_score: Number | None
    avg_relevance_score: Number | None


# ---------------------------------------------------------------- companies (ingestion)


class CompanySummary(BaseModel):
    id: int
    symbol: str
    name: str
    sector: str | None
    industry: str | None
    market_cap_rank: int | None


class CompanyList(BaseModel):
    total: int
    companies: list[CompanySummary]


class CompanyListParams(_Request):
    sector: ShortLine | None = None
    index: ShortLine | None = Field(default=None, description="An index the company is in, e.g. NIFTY50")
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class LatestFundamentals(BaseModel):
    period: str
    revenue: Number | None
    net_income: Number | None
    eps: Number | None
    pe_ratio: Number | None
    market_cap: Number | None


class LatestPrice(BaseModel):
    date: date
    close: Number
    change_percent: Number | None


class CompanyDetail(CompanySummary):
    isin: str | None
    nse_symbol: str | None
    bse_code: str | None
    website: str | None
    ir_page_url: str | None
    latest_fundamentals: LatestFundamentals | None = None
    latest_price: LatestPrice | None = None
    # Additions (issue 12): the catalogue for any listed company.
    legal_name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    fiscal_year_end_month: int = Field(default=3, description="Month the fiscal year ends (3 = March)")
    indices: list[str] = Field(default_factory=list)
    active: bool = True


CompanyName = Annotated[Line, Field(min_length=1, max_length=300)]
Month = Annotated[int, Field(ge=1, le=12)]
Alias = Annotated[Line, Field(min_length=1, max_length=120)]
IndexName = Annotated[Line, Field(min_length=1, max_length=40)]


class CatalogueImportParams(_Request):
    index: IndexName | None = Field(default=None, description="Tag every row with this index, e.g. NIFTY50")


class CompanyUpdate(_Request):
    """PATCH: the fields given replace the stored ones; `active: false` retires the company
    (it leaves the listing; its documents stay)."""

    name: CompanyName | None = None
    legal_name: CompanyName | None = None
    aliases: list[Alias] | None = Field(default=None, max_length=50)
    isin: Annotated[Line, Field(min_length=12, max_length=12)] | None = None
    sector: ShortLine | None = None
    industry: ShortLine | None = None
    market_cap_rank: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    bse_code: Annotated[Line, Field(max_length=20)] | None = None
    website: Annotated[Line, Field(max_length=500)] | None = None
    ir_page_url: Annotated[Line, Field(max_length=500)] | None = None
    fiscal_year_end_month: Month | None = None
    indices: list[IndexName] | None = Field(default=None, max_length=50)
    active: bool | None = None


class CompanyCreate(CompanyUpdate):
    """POST: a company of any exchange. The symbol keeps its suffix as given (`RELIANCE.NS`,
    `500325.BO`, `AAPL`); a bare symbol with `exchange` NSE or BSE gets `.NS` or `.BO`.
    `fiscal_year_end_month` defaults to 3 (March) for Indian companies and is required for others."""

    symbol: Symbol
    name: CompanyName
    exchange: ShortLine | None = None


class FundamentalsRow(BaseModel):
    period: str
    period_type: str
    period_end_date: date
    revenue: Number | None
    net_income: Number | None
    eps: Number | None
    pe_ratio: Number | None
    roe: Number | None
    debt_to_equity: Number | None


class CompanyFundamentals(BaseModel):
    symbol: str
    fundamentals: list[FundamentalsRow]


class FundamentalsParams(_Request):
    period_type: Literal["quarterly", "annual"] | None = None
    limit: int = Field(default=8, ge=1, le=100)


class PriceRow(BaseModel):
    date: date
    open: Number
    high: Number
    low: Number
    close: Number
    volume: int | None


class CompanyPrices(BaseModel):
    symbol: str
    prices: list[PriceRow]


class PriceParams(_Request):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    limit: int = Field(default=5000, ge=1, le=5000)


DocumentStatus = Literal["pending", "processing", "completed", "failed"]


class DocumentSummary(BaseModel):
    id: int
    doc_type: str
    title: str
    fiscal_period: str | None
    document_date: date | None
    status: DocumentStatus
    chunk_count: int
    download_url: str


class CompanyDocuments(BaseModel):
    symbol: str
    documents: list[DocumentSummary]


class CompanyDocumentParams(_Request):
    doc_type: ShortLine | None = None
    status: DocumentStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class NewsRow(BaseModel):
    id: int | None
    title: str
    source: str | None
    url: str
    summary: str | None
    sentiment: str | None
    sentiment_score: Number | None
    published_at: datetime | None


class CompanyNews(BaseModel):
    symbol: str
    news: list[NewsRow]


class NewsParams(_Request):
    limit: int = Field(default=10, ge=1, le=100)


# ---------------------------------------------------------------- documents (ingestion)


class DocumentOut(BaseModel):
    id: int
    company_id: int | None
    company_symbol: str | None
    doc_type: str
    title: str
    fiscal_period: str | None
    document_date: date | None
    status: DocumentStatus
    chunk_count: int
    storage_path: str | None
    file_size_bytes: int | None
    page_count: int | None
    created_at: datetime | None


class DocumentList(BaseModel):
    total: int
    limit: int
    offset: int
    documents: list[DocumentOut]


class DocumentListParams(_Request):
    status: DocumentStatus | None = None
    doc_type: ShortLine | None = None
    company_symbol: Annotated[Line, Field(max_length=40)] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class IngestionStatus(BaseModel):
    document_id: int
    status: DocumentStatus
    progress: dict[str, Literal["pending", "in_progress", "completed", "failed"]] = Field(
        description="Stage -> state: download, parse, chunk, embed, index")
    started_at: datetime | None
    estimated_completion: datetime | None
    error: str | None = None


class DocumentFields(_Request):
    """What describes a document, whether it is fetched from a URL or uploaded."""

    company_symbol: Annotated[Line, Field(max_length=40)] | None = None
    doc_type: Annotated[Line, Field(min_length=1, max_length=40)]
    fiscal_period: Annotated[Line, Field(max_length=20)] | None = None
    title: Annotated[Text, Field(max_length=300)] | None = None
    document_date: date | None = None


class IngestRequest(DocumentFields):
    company_symbol: Annotated[Line, Field(min_length=1, max_length=40)]
    source_url: Annotated[Line, Field(min_length=8, max_length=2000)]


class UploadForm(DocumentFields):
    """multipart/form-data: the PDF in `file`, its description in the other fields."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
    customer_id: ShortLine | None = None
    opportunity_id: ShortLine | None = None


class DocumentAccepted(BaseModel):
    document_id: int
    status: DocumentStatus
    message: str


class BootstrapRequest(_Request):
    companies: list[Annotated[Line, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=100)
    doc_types: list[Annotated[Line, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=10)
    years: list[Annotated[int, Field(ge=2000, le=2100)]] = Field(min_length=1, max_length=30)


class BootstrapAccepted(BaseModel):
    task_id: str
    status: str
    estimated_documents: int


BootstrapDocumentState = Literal["waiting", "pending", "processing", "completed", "failed", "skipped"]


class BootstrapDocument(BaseModel):
    """One filing a bootstrap planned: the document it became, or why it has none."""

    symbol: str
    doc_type: str
    fiscal_period: str
    source_url: str | None = Field(description="null: no source registered for this filing")
    document_id: int | None
    status: BootstrapDocumentState = Field(
        description="waiting: not queued yet; skipped: never queued (see error); else the document's status")
    stages: dict[str, Literal["pending", "in_progress", "completed", "failed"]] | None = Field(
        description="Stage -> state once the document exists: download, parse, chunk, embed, index")
    error: str | None = Field(description="Why it was skipped or failed (a fetch failure says so)")


class BootstrapFailure(BaseModel):
    symbol: str
    doc_type: str
    fiscal_period: str
    source_url: str | None
    document_id: int | None
    status: Literal["failed", "skipped"]
    error: str | None


class BootstrapProgress(BaseModel):
    total: int
    waiting: int
    pending: int
    processing: int
    completed: int
    failed: int
    skipped: int
    percent: float = Field(description="Share of filings finished (completed, failed or skipped)")


class BootstrapTaskStatus(BaseModel):
    task_id: str
    status: Literal["started", "running", "completed", "failed"] = Field(
        description="started: accepted, not yet picked up; running: queuing or documents still "
                    "ingesting; completed: every filing finished (some may have failed); "
                    "failed: the task itself could not run (see error)")
    requested: dict[str, list[str] | list[int]]
    requested_by: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None = Field(description="When the last filing was queued")
    error: str | None
    progress: BootstrapProgress
    documents: list[BootstrapDocument]
    failures: list[BootstrapFailure] = Field(description="The filings it could not fetch or queue, with the reason")


class IngestionStats(BaseModel):
    total_documents: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    total_chunks: int
    last_24h: dict[str, int]


class FileForm(BaseModel):
    """multipart/form-data with the file in `file` (CSV, or JSON rows)."""

    file: bytes = Field(json_schema_extra={"format": "binary"})


class CatalogueImport(BaseModel):
    total: int
    added: Any = Field(description="Symbols added")
    updated: Any = Field(description="Symbols (or their count) updated")
    deactivated: Any = Field(default=None, description="Symbols the file retired (Active false)")


class DataImport(BaseModel):
    kind: str
    imported: int
    symbols: list[str]


# ---------------------------------------------------------------- review (hitl)


class ReviewSummary(BaseModel):
    id: str
    query_id: str
    question: str
    generated_response: str | None
    reason: str | None
    created_at: datetime | None
    expires_at: datetime | None = None


class ReviewList(BaseModel):
    """Pending reviews, oldest first; expired ones are not listed."""

    total: int
    limit: int | None = None
    offset: int | None = None
    reviews: list[ReviewSummary]


class ReviewListParams(_Request):
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


class ReviewDetail(ReviewSummary):
    citations: list[Citation] = Field(default_factory=list)
    workflow_state: dict[str, Any] = Field(default_factory=dict)
    status: Literal["pending", "approved", "edited", "rejected", "expired"] | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    notes: str | None = None
    edited_response: str | None = None


class ReviewNotes(_Request):
    notes: Annotated[Text, Field(max_length=4000)] | None = None


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank: the analyst would see an empty answer")
    return value


class ReviewEdit(_Request):
    edited_response: Annotated[Text, Field(min_length=1, max_length=20_000),
                               AfterValidator(_not_blank)]
    notes: Annotated[Text, Field(max_length=4000)] | None = None


class ReviewDecision(BaseModel):
    id: str
    status: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    query_id: str | None = None


class AuditEntry(BaseModel):
    """One line of a review's trail: written once, never changed."""

    at: datetime
    actor: str = Field(description="The reviewer's email, `rag-query` or `system`")
    action: Literal["received", "approved", "edited", "rejected", "expired"]
    notes: str | None
    text_before: str | None
    text_after: str | None
    details: dict[str, Any] = Field(default_factory=dict)


class ReviewAudit(BaseModel):
    id: str
    entries: list[AuditEntry]


# ---------------------------------------------------------------- health


class SystemHealth(BaseModel):
    status: Literal["healthy", "degraded"]
    services: dict[str, Literal["healthy", "unhealthy"]]
    version: str
    uptime_seconds: int
