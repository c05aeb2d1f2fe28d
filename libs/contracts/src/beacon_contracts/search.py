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
