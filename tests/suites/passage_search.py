"""One contract for rag-query's passage search (`beacon_rag_query.sources.PassageSearch`):
the in-memory twin (BM25 over a list), the adapter embedded mode uses (`HttpIngestion` bound
to ingestion's app in process) and the same adapter over HTTP to ingestion's
`POST /internal/search` served on 127.0.0.1. Ingestion's index is filled the way its index
stage fills it (`chunk_payload`, its embedder and sparse encoder), so the real ranking runs.

Shared behaviour: every filter restricts, and filters combine; a page filter fetches every
chunk of the page; at most `limit` hits, best
first; the passage that holds the query's words ranks first; nothing found is an empty list;
customer material (another collection) never reaches a research search, and report-writer's
material search (`HttpMaterialSource`) sees one owner's material only; a backend that cannot
be reached is `DependencyUnavailable`. Run by tests/unit/contract (memory,
embedded) and tests/integration/contract (http); the material and unreachable cases are
collected for ingestion's adapters only (HOLDS_MATERIAL, CAN_BE_UNREACHABLE below).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, NamedTuple

import httpx
import pytest
import uvicorn
from beacon_contracts.material import MaterialSearchRequest
from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.sources import HttpIngestion, InMemoryPassageSearch, PassageSearch
from beacon_report_writer.sources import HttpMaterialSource
from beacon_runtime.errors import DependencyUnavailable

TITLE = {"RELIANCE.NS": "Reliance Industries Annual Report", "TCS.NS": "TCS Annual Report"}


def passage(n: int, symbol: str, period: str, doc_type: str, text: str, page: int = 1) -> SearchHit:
    return SearchHit(chunk_id=f"00000000-0000-0000-0000-{n:012d}", document_id=n,
                     document_title=f"{TITLE[symbol]} {period}", company_symbol=symbol,
                     doc_type=doc_type, fiscal_period=period, page_number=page, text=text, score=0)


CORPUS = [
    passage(1, "RELIANCE.NS", "FY2024", "annual_report",
            "Revenue from operations was 9,74,864 crore, up 2.6 percent.", page=45),
    passage(2, "RELIANCE.NS", "FY2024", "annual_report",
            "Jio added subscribers across telecom circles during the year.", page=60),
    passage(3, "RELIANCE.NS", "FY2023", "annual_report",
            "Revenue from operations was 9,50,000 crore in the earlier year.", page=44),
    passage(4, "RELIANCE.NS", "Q2FY25", "quarterly_result",
            "Quarterly revenue from operations rose on retail and digital services.", page=3),
    passage(5, "TCS.NS", "FY2024", "annual_report",
            "Revenue from operations was 2,40,893 crore for the consulting business.", page=12),
    passage(6, "TCS.NS", "FY2024", "annual_report",
            "Attrition fell and headcount stayed above six lakh employees.", page=30),
]
# Customer material that shares every word of a research passage: a search must not see it.
MATERIAL_TEXT = "Revenue from operations was 9,74,864 crore, up 2.6 percent. Confidential bid."

MakeSearch = Callable[[list[SearchHit]], Awaitable[PassageSearch]]

# Which backends a case is collected for (a test module names its own in BACKENDS).
# rag-query's in-memory twin holds research passages only: customer material lives in
# ingestion alone (report-writer reads it over HTTP and has no twin of it), and the twin has
# no connection to lose. The cases about material and about an unreachable backend are
# therefore collected for ingestion's adapters only, instead of being skipped on the twin,
# where they could only pass vacuously or not run.
HOLDS_MATERIAL = frozenset({"embedded", "http"})
CAN_BE_UNREACHABLE = frozenset({"embedded", "http"})


def only_on(backends: frozenset[str]):
    def mark(test):
        test.backends = backends
        return test
    return mark


def pytest_generate_tests(metafunc):
    """`backend` takes the module's BACKENDS, less those the case is not collected for."""
    if "backend" in metafunc.fixturenames:
        wanted = getattr(metafunc.function, "backends", None)
        metafunc.parametrize("backend", [b for b in metafunc.module.BACKENDS
                                         if wanted is None or b in wanted])


def request(query: str, **fields) -> SearchRequest:
    return SearchRequest(query=query, **fields)


async def test_filters_restrict_and_combine(make_search: MakeSearch):
    search = await make_search(CORPUS)
    revenue = "revenue from operations"
    assert {h.company_symbol for h in await search.search(request(revenue, company_symbols=["TCS.NS"]))} == {"TCS.NS"}
    assert {h.fiscal_period for h in await search.search(request(revenue, fiscal_periods=["FY2023"]))} == {"FY2023"}
    assert {h.doc_type for h in await search.search(
        request(revenue, doc_types=["quarterly_result"]))} == {"quarterly_result"}
    both = await search.search(request(revenue, company_symbols=["RELIANCE.NS"], fiscal_periods=["FY2024"]))
    assert both and {(h.company_symbol, h.fiscal_period) for h in both} == {("RELIANCE.NS", "FY2024")}
    many = await search.search(request(revenue, company_symbols=["RELIANCE.NS", "TCS.NS"],
                                       fiscal_periods=["FY2024"], limit=10))
    assert {h.chunk_id for h in many} >= {CORPUS[0].chunk_id, CORPUS[4].chunk_id}


async def test_a_page_filter_fetches_every_chunk_of_the_page(make_search: MakeSearch):
    """The figure reader reads a statement page whole: the chunk with the column headers
    often shares no word with the question."""
    header = passage(7, "RELIANCE.NS", "FY2024", "annual_report",
                     "Consolidated Statement of Profit and Loss for the year ended 31 March 2024", page=45)
    rows = CORPUS[0].model_copy(update={"chunk_id": "00000000-0000-0000-0000-000000000008", "document_id": 7})
    other_page = passage(7, "RELIANCE.NS", "FY2024", "annual_report",
                         "Revenue from operations grew in the digital services segment.", page=46)
    search = await make_search([*CORPUS, header.model_copy(update={"chunk_id": "00000000-0000-0000-0000-000000000007"}),
                                rows, other_page.model_copy(update={"chunk_id": "00000000-0000-0000-0000-000000000009"})])
    hits = await search.search(request("revenue from operations", document_ids=[7], page_numbers=[45], limit=10))
    assert {h.chunk_id for h in hits} == {"00000000-0000-0000-0000-000000000007",
                                          "00000000-0000-0000-0000-000000000008"}
    assert hits[0].chunk_id == "00000000-0000-0000-0000-000000000008"  # the one with the words first


async def test_at_most_limit_hits_best_first(make_search: MakeSearch):
    search = await make_search(CORPUS)
    for limit in (1, 2, 3):
        hits = await search.search(request("revenue from operations crore", limit=limit))
        assert len(hits) == limit
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_the_passage_holding_the_query_ranks_first_with_its_fields(make_search: MakeSearch):
    search = await make_search(CORPUS)
    hits = await search.search(request("Jio subscribers telecom circles", limit=3))
    first = hits[0]
    assert first.chunk_id == CORPUS[1].chunk_id
    assert first.model_dump(exclude={"score"}) == CORPUS[1].model_dump(exclude={"score"})
    assert first.score > 0


async def test_nothing_found_is_an_empty_list(make_search: MakeSearch):
    assert await (await make_search([])).search(request("revenue")) == []
    search = await make_search(CORPUS)
    assert await search.search(request("revenue", company_symbols=["INFY.NS"])) == []
    assert await search.search(request("revenue", company_symbols=["TCS.NS"], fiscal_periods=["FY2023"])) == []


@only_on(HOLDS_MATERIAL)
async def test_customer_material_never_reaches_a_research_search(make_search: MakeSearch, material):
    search = await make_search(CORPUS)
    await material("key:1", MATERIAL_TEXT)
    hits = await search.search(request("revenue from operations 9,74,864 crore confidential bid", limit=50))
    assert "Confidential bid." not in " ".join(h.text for h in hits)
    assert {h.chunk_id for h in hits} <= {p.chunk_id for p in CORPUS}


@only_on(HOLDS_MATERIAL)
async def test_customer_material_is_searched_for_its_owner_only(material, material_source):
    """report-writer's side of the same index (`HttpMaterialSource`, POST
    /internal/material/search): one owner's material is invisible to another owner."""
    await material("key:1", MATERIAL_TEXT)
    await material("key:2", "Jio subscribers across telecom circles. Another owner's bid.")
    ask = MaterialSearchRequest(customer_id="acme", queries=["revenue from operations bid"], limit=10)
    mine = await material_source.search("key:1", ask)
    assert mine.documents == 1
    [result] = mine.results
    assert result.hits and all("Confidential bid." in h.text for h in result.hits)
    assert all(h.document_title == "RFP of key:1" for h in result.hits)
    theirs = await material_source.search("key:3", ask)
    assert theirs.documents == 0 and theirs.results[0].hits == []


@only_on(CAN_BE_UNREACHABLE)
async def test_an_unreachable_backend_is_unavailable(unreachable: PassageSearch):
    with pytest.raises(DependencyUnavailable):
        await unreachable.search(request("revenue"))


# ---- backends ---------------------------------------------------------------------------


def ingestion_service():
    from beacon_ingestion.bootstrap import build
    from beacon_ingestion.repository.memory import InMemoryIngestionRepository
    from beacon_ingestion.settings import IngestionSettings
    from beacon_runtime.adapters import Adapters
    from beacon_runtime.bus.memory import InMemoryBus

    settings = IngestionSettings(embedding_backend="hashing", database_url=None, qdrant_url=None,
                                 openai_base_url=None)
    adapters, repo = Adapters(settings, bus=InMemoryBus()), InMemoryIngestionRepository()
    return build(settings, adapters, repo=repo), settings, adapters, repo


async def index(adapters, settings, passages: list[SearchHit]) -> None:
    """Points as ingestion's index stage writes them (beacon_ingestion.pipeline.stages)."""
    from beacon_ingestion.domain import Chunk, Document
    from beacon_ingestion.pipeline.stages import chunk_payload, search_text
    from beacon_runtime.embeddings.local import Bm25SparseEncoder
    from beacon_runtime.vectors.port import VectorPoint

    sparse = Bm25SparseEncoder()
    pairs = [(Document(id=p.document_id, title=p.document_title, company_symbol=p.company_symbol,
                       doc_type=p.doc_type, fiscal_period=p.fiscal_period, document_date=date(2024, 3, 31)),
              Chunk(id=p.chunk_id, document_id=p.document_id, chunk_index=0, text=p.text,
                    page_start=p.page_number, page_end=p.page_number, section=p.section))
             for p in passages]
    texts = [search_text(document, chunk) for document, chunk in pairs]
    dense = await adapters.embedder.embed_documents(texts) if texts else []
    await adapters.vectors.ensure_collection(settings.qdrant_collection, adapters.embedder.dim)
    points = [VectorPoint(id=chunk.id, dense=[float(x) for x in vector], sparse=sparse.encode_document(text),
                          payload=chunk_payload(document, chunk))
              for (document, chunk), text, vector in zip(pairs, texts, dense, strict=True)]
    if points:
        await adapters.vectors.upsert(settings.qdrant_collection, points)


async def index_material(repo, adapters, settings, owner: str, text: str) -> None:
    """A completed customer document of `owner` (customer "acme") with one chunk, where
    ingestion keeps material (its own collection)."""
    from beacon_ingestion.domain import MATERIAL, Chunk, DocumentStatus, NewDocument
    from beacon_ingestion.pipeline.stages import chunk_payload, search_text
    from beacon_runtime.embeddings.local import Bm25SparseEncoder
    from beacon_runtime.vectors.port import VectorPoint

    document = await repo.create_document(NewDocument(doc_type=MATERIAL, title=f"RFP of {owner}",
                                                      owner=owner, customer_id="acme"))
    await repo.update_document(document.id, status=DocumentStatus.COMPLETED, chunk_count=1)
    chunk = Chunk(id=f"00000000-0000-0000-0001-{document.id:012d}", document_id=document.id,
                  chunk_index=0, text=text, page_start=1, page_end=1, section=None)
    [vector] = await adapters.embedder.embed_documents([search_text(document, chunk)])
    await adapters.vectors.ensure_collection(settings.material_collection, adapters.embedder.dim)
    await adapters.vectors.upsert(settings.material_collection, [VectorPoint(
        id=chunk.id, dense=[float(x) for x in vector], sparse=Bm25SparseEncoder().encode_document(text),
        payload=chunk_payload(document, chunk))])


@asynccontextmanager
async def served(app) -> AsyncIterator[str]:
    """`app` on a free 127.0.0.1 port, as a distributed ingestion process serves it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Backend(NamedTuple):
    """What the cases get for one backend; the twin has no material and no connection."""

    make_search: MakeSearch
    material: Callable[[str, str], Awaitable[None]] | None = None
    unreachable: PassageSearch | None = None
    material_source: Any = None


@pytest.fixture
async def backend_state(backend):
    if backend == "memory":
        async def make_memory(passages):
            return InMemoryPassageSearch(passages)

        # No material, no connection: the cases needing them are not collected for the twin.
        yield Backend(make_memory)
        return
    service, settings, adapters, repo = ingestion_service()
    clients: list[httpx.AsyncClient] = []
    async with served(service.http) if backend == "http" else _nothing() as url:
        def client() -> httpx.AsyncClient:
            if backend == "http":
                made = httpx.AsyncClient(base_url=url, timeout=10)
            else:  # embedded mode: the same adapters, their client bound to the app in process
                made = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                         base_url="http://ingestion", timeout=10)
            clients.append(made)
            return made

        async def make_ingestion(passages):
            await index(adapters, settings, passages)
            return HttpIngestion(client())

        async def material(owner, text):
            await index_material(repo, adapters, settings, owner, text)

        dead = httpx.AsyncClient(base_url="http://127.0.0.1:1", timeout=2)  # nothing listens on 1
        clients.append(dead)
        try:
            yield Backend(make_ingestion, material, HttpIngestion(dead), HttpMaterialSource(client()))
        finally:
            for made in clients:
                await made.aclose()
            await adapters.close()


@asynccontextmanager
async def _nothing():
    yield None


@pytest.fixture
def make_search(backend_state) -> MakeSearch:
    return backend_state.make_search


@pytest.fixture
def material(backend_state):
    return backend_state.material


@pytest.fixture
def unreachable(backend_state) -> PassageSearch:
    return backend_state.unreachable


@pytest.fixture
def material_source(backend_state):
    return backend_state.material_source
