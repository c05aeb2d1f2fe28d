"""The ports to the ingestion service: the HTTP adapter against an ASGI app speaking the
internal API's shapes, the catalogue cache, and the BM25 twin's ranking and filters."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from beacon_contracts.search import SearchRequest, SearchResponse
from beacon_rag_query.domain import Company
from beacon_rag_query.sources import CachedCatalogue, HttpIngestion, InMemoryPassageSearch
from beacon_runtime.errors import DependencyUnavailable
from rag_harness import PASSAGES


def ingestion_like_app(requests: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/internal/search")
    async def search(body: SearchRequest) -> SearchResponse:
        requests.append(body.model_dump())
        return SearchResponse(hits=InMemoryPassageSearch(PASSAGES).rank(body))

    @app.get("/internal/companies")
    async def companies() -> list[dict]:
        return [{"symbol": "RELIANCE.NS", "name": "Reliance Industries Ltd.", "nse_symbol": "RELIANCE",
                 "sector": "Energy", "aliases": ["Reliance Industries", "RELIANCE", "Reliance"]}]

    @app.get("/api/v1/companies/{symbol}/fundamentals")
    async def fundamentals(symbol: str) -> dict:
        if symbol != "RELIANCE.NS":
            raise HTTPException(404)
        return {"symbol": symbol, "fundamentals": [{"period": "Q2FY25", "revenue": 1.0}]}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    return app


@pytest.fixture
async def remote():
    requests: list[dict] = []
    transport = httpx.ASGITransport(app=ingestion_like_app(requests))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingestion") as client:
        yield HttpIngestion(client), requests


async def test_search_sends_the_request_and_reads_hits(remote):
    source, requests = remote
    hits = await source.search(SearchRequest(query="revenue from operations",
                                             company_symbols=["RELIANCE.NS"],
                                             fiscal_periods=["FY2024", "Q4FY24"], limit=3))
    assert requests[0]["fiscal_periods"] == ["FY2024", "Q4FY24"]
    assert hits and {h.company_symbol for h in hits} == {"RELIANCE.NS"}
    assert hits[0].page_number == 45


async def test_companies_and_fundamentals(remote):
    source, _ = remote
    companies = await source.companies()
    assert companies == [Company("RELIANCE.NS", "Reliance Industries Ltd.", "RELIANCE", "Energy",
                                 ("Reliance Industries", "RELIANCE", "Reliance"))]
    assert (await source.fundamentals("RELIANCE.NS"))[0]["period"] == "Q2FY25"
    assert await source.fundamentals("TCS.NS") == [], "404 means no fundamentals"
    assert await source.ping() is True


async def test_an_unreachable_ingestion_service_is_a_dependency_outage():
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as client:  # nothing listens
        source = HttpIngestion(client)
        with pytest.raises(DependencyUnavailable):
            await source.search(SearchRequest(query="revenue"))
        assert await source.ping() is False


class CountingCatalogue:
    def __init__(self) -> None:
        self.calls, self.fail = 0, False

    async def companies(self) -> list[Company]:
        self.calls += 1
        if self.fail:
            raise DependencyUnavailable("down")
        return [Company("TCS.NS", f"TCS v{self.calls}")]


async def test_the_catalogue_is_cached_and_survives_an_outage():
    now = [0.0]
    inner = CountingCatalogue()
    cached = CachedCatalogue(inner, ttl_s=60, clock=lambda: now[0])
    assert (await cached.companies())[0].name == "TCS v1"
    assert (await cached.companies())[0].name == "TCS v1" and inner.calls == 1
    now[0] = 61
    inner.fail = True
    assert (await cached.companies())[0].name == "TCS v1", "stale beats nothing"
    inner.fail = False
    assert (await cached.companies())[0].name == "TCS v3"
    with pytest.raises(DependencyUnavailable):
        failing = CountingCatalogue()
        failing.fail = True
        await CachedCatalogue(failing, ttl_s=60).companies()


def test_bm25_twin_ranks_and_filters():
    search = InMemoryPassageSearch(PASSAGES)
    ranked = search.rank(SearchRequest(query="net profit FY2024", limit=3))
    assert ranked[0].chunk_id == "ril24-46"
    assert ranked == sorted(ranked, key=lambda h: -h.score)
    only_tcs = search.rank(SearchRequest(query="revenue", company_symbols=["TCS.NS"]))
    assert {h.company_symbol for h in only_tcs} == {"TCS.NS"}
    fy23 = search.rank(SearchRequest(query="revenue", fiscal_periods=["FY2023"]))
    assert [h.chunk_id for h in fy23] == ["ril23-40"]
    quarterly = search.rank(SearchRequest(query="net profit", doc_types=["quarterly_result"]))
    assert [h.chunk_id for h in quarterly] == ["hdfc-q3-3"]
    assert search.rank(SearchRequest(query="zebra")) == []
