"""Internal search API of the ingestion service (the owner of chunks and vectors), used by
rag-query over HTTP."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    company_symbols: list[str] = Field(default_factory=list)
    fiscal_periods: list[str] = Field(default_factory=list)
    doc_types: list[str] = Field(default_factory=list)
    # Restricting to documents and pages makes the search a fetch: every chunk of those pages
    # comes back (best first, up to `limit`), even one that shares no word with the query.
    document_ids: list[int] = Field(default_factory=list, max_length=50)
    page_numbers: list[int] = Field(default_factory=list, max_length=50)
    limit: int = Field(default=8, ge=1, le=50)


class SearchHit(BaseModel):
    chunk_id: str
    document_id: int
    document_title: str
    company_symbol: str | None
    doc_type: str
    fiscal_period: str | None
    page_number: int
    section: str | None = None
    text: str
    score: float


class SearchResponse(BaseModel):
    hits: list[SearchHit]
