"""Ports to what the ingestion service owns: passages, the company catalogue, fundamentals.

Reads go over HTTP (`HttpIngestion`, one httpx client: bound to the ingestion app through
`httpx.ASGITransport` in embedded mode, to INGESTION_URL when distributed). The in-memory
twins serve unit tests and the benchmark's baseline; `InMemoryPassageSearch` ranks with BM25.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from beacon_contracts.search import SearchHit, SearchRequest, SearchResponse
from beacon_rag_query.domain import Company
from beacon_rag_query.text import terms
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.logs import get_logger

log = get_logger(__name__)


class PassageSearch(ABC):
    @abstractmethod
    async def search(self, request: SearchRequest) -> list[SearchHit]: ...


class CompanyCatalogue(ABC):
    @abstractmethod
    async def companies(self) -> list[Company]: ...


class FundamentalsSource(ABC):
    @abstractmethod
    async def fundamentals(self, symbol: str) -> list[dict[str, Any]]:
        """Rows like the public contract's `fundamentals` list; empty when unknown."""


# ---- HTTP adapters ---------------------------------------------------------------------


class HttpIngestion(PassageSearch, CompanyCatalogue, FundamentalsSource):
    """The ingestion service's internal API. Transport failures become
    DependencyUnavailable, so a query fails with SERVICE_UNAVAILABLE rather than a crash."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def search(self, request: SearchRequest) -> list[SearchHit]:
        data = await self._call("POST", "/internal/search", json=request.model_dump(mode="json"))
        return SearchResponse.model_validate(data).hits

    async def companies(self) -> list[Company]:
        data = await self._call("GET", "/internal/companies")
        rows = data.get("companies", data) if isinstance(data, dict) else data
        return [Company.from_api(row) for row in rows]

    async def fundamentals(self, symbol: str) -> list[dict[str, Any]]:
        try:
            data = await self._call(
                "GET", f"/api/v1/companies/{symbol}/fundamentals", params={"limit": 12}
            )
        except _NotFound:
            return []
        return list(data.get("fundamentals") or [])

    async def _call(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(f"ingestion: {exc.__class__.__name__}") from exc
        if response.status_code in (404, 405):
            raise _NotFound(path)
        if response.status_code >= 500:
            raise DependencyUnavailable(f"ingestion: HTTP {response.status_code} on {path}")
        response.raise_for_status()
        return response.json()

    async def ping(self) -> bool:
        try:
            await self._call("GET", "/healthz")
            return True
        except Exception:  # noqa: BLE001 - a probe that raises is a probe that failed
            return False


class _NotFound(Exception):
    pass


class CachedCatalogue(CompanyCatalogue):
    """The catalogue changes twice a year; ask for it at most every `ttl_s` seconds, and keep
    the last good copy when the ingestion service cannot be reached."""

    def __init__(self, inner: CompanyCatalogue, ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._inner, self._ttl_s, self._clock = inner, ttl_s, clock
        self._cached: list[Company] | None = None
        self._fetched_at = -math.inf

    async def companies(self) -> list[Company]:
        if self._cached is not None and self._clock() - self._fetched_at < self._ttl_s:
            return self._cached
        try:
            self._cached = await self._inner.companies()
            self._fetched_at = self._clock()
        except DependencyUnavailable:
            if self._cached is None:
                raise
            log.warning("rag.catalogue_stale")
        return self._cached


# ---- in-memory twins -------------------------------------------------------------------


class InMemoryCatalogue(CompanyCatalogue):
    def __init__(self, companies: Iterable[Company]) -> None:
        self._companies = list(companies)

    async def companies(self) -> list[Company]:
        return list(self._companies)


class InMemoryFundamentals(FundamentalsSource):
    def __init__(self, rows_by_symbol: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self._rows = rows_by_symbol or {}

    async def fundamentals(self, symbol: str) -> list[dict[str, Any]]:
        return list(self._rows.get(symbol, []))


class InMemoryPassageSearch(PassageSearch):
    """BM25 (k1=1.2, b=0.75) over a fixed list of passages, honouring the request's filters.
    A request restricted to pages is a fetch: their passages come back even with no shared
    word, as the dense half of ingestion's hybrid search returns them."""

    def __init__(self, passages: Iterable[SearchHit], *, k1: float = 1.2, b: float = 0.75) -> None:
        self._passages = list(passages)
        self._k1, self._b = k1, b
        self._tf = [Counter(terms(p.text + " " + p.document_title)) for p in self._passages]
        self._lengths = [sum(tf.values()) for tf in self._tf]
        self._avg_length = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(self._passages)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    async def search(self, request: SearchRequest) -> list[SearchHit]:
        return self.rank(request)

    def rank(self, request: SearchRequest) -> list[SearchHit]:
        query = Counter(terms(request.query))
        scored: list[tuple[float, int]] = []
        for i, passage in enumerate(self._passages):
            if not _passes(passage, request):
                continue
            score = self._score(i, query)
            if score > 0 or request.page_numbers:
                scored.append((score, i))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [
            self._passages[i].model_copy(update={"score": round(score, 6)})
            for score, i in scored[: request.limit]
        ]

    def _score(self, i: int, query: Counter[str]) -> float:
        tf, length = self._tf[i], self._lengths[i]
        total = 0.0
        for term in query:
            f = tf.get(term, 0)
            if f:
                norm = self._k1 * (1 - self._b + self._b * length / self._avg_length)
                total += self._idf[term] * f * (self._k1 + 1) / (f + norm)
        return total


def _passes(passage: SearchHit, request: SearchRequest) -> bool:
    if request.company_symbols and passage.company_symbol not in request.company_symbols:
        return False
    if request.fiscal_periods and passage.fiscal_period not in request.fiscal_periods:
        return False
    if request.doc_types and passage.doc_type not in request.doc_types:
        return False
    if request.document_ids and passage.document_id not in request.document_ids:
        return False
    if request.page_numbers and passage.page_number not in request.page_numbers:
        return False
    return True
