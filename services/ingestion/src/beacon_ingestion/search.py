"""Hybrid retrieval over the indexed chunks, for rag-query's POST /internal/search."""

from __future__ import annotations

from beacon_contracts.search import SearchHit, SearchRequest, SearchResponse
from beacon_runtime.embeddings.port import Embedder, SparseEncoder
from beacon_runtime.vectors.port import VectorStore

from beacon_ingestion.domain import parse_period, symbol_candidates


def _symbols(raw: list[str]) -> list[str]:
    """Each symbol as given and, when bare, its .NS and .BO listings (`RELIANCE`)."""
    out = []
    for value in raw:
        try:
            out.extend(symbol_candidates(value))
        except ValueError:
            out.append(value)  # matches nothing, rather than silently widening the search
    return out


def _periods(raw: list[str]) -> list[str]:
    out = []
    for value in raw:
        try:
            out.append(parse_period(value).label)
        except ValueError:
            out.append(value)
    return out


class ChunkSearch:
    def __init__(self, embedder: Embedder, sparse: SparseEncoder, vectors: VectorStore, collection: str) -> None:
        self._embedder = embedder
        self._sparse = sparse
        self._vectors = vectors
        self._collection = collection

    async def search(self, request: SearchRequest) -> SearchResponse:
        filters = {
            "company_symbol": _symbols(request.company_symbols),
            "fiscal_period": _periods(request.fiscal_periods),
            "doc_type": list(request.doc_types),
            "document_id": list(request.document_ids),
            "page_number": list(request.page_numbers),
        }
        dense = await self._embedder.embed_query(request.query)
        points = await self._vectors.hybrid_search(
            self._collection, dense, self._sparse.encode_query(request.query),
            filters={k: v for k, v in filters.items() if v}, limit=request.limit)
        hits = []
        for point in points:
            p = point.payload
            hits.append(SearchHit(
                chunk_id=point.id, document_id=int(p["document_id"]),
                document_title=p.get("document_title") or "", company_symbol=p.get("company_symbol"),
                doc_type=p.get("doc_type") or "other", fiscal_period=p.get("fiscal_period"),
                page_number=int(p.get("page_number") or 1), section=p.get("section"),
                text=p.get("text") or "", score=point.score))
        return SearchResponse(hits=hits)
