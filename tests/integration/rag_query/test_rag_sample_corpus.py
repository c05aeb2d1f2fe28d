"""rag-query over the ingestion service's bundled sample corpus, both in process as embedded
mode runs them: ingestion (in-memory rows and files, qdrant-edge vectors, offline embedder)
ingests its illustrative PDFs and company data at start-up; rag-query reads them through
httpx.ASGITransport. Questions whose answer sits on a known page must cite that page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import pytest_asyncio

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope
from beacon_ingestion.bootstrap import build as build_ingestion
from beacon_ingestion.domain import DocumentStatus
from beacon_runtime.adapters import Adapters
from beacon_runtime.files import InMemoryFileStore
from beacon_ingestion.repository.memory import InMemoryIngestionRepository
from beacon_ingestion.settings import IngestionSettings
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.bootstrap import build
from beacon_rag_query.domain import QueryStatus
from beacon_rag_query.repository import InMemoryQueryRepository
from beacon_rag_query.settings import RagQuerySettings
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.vectors.edge import EdgeVectorStore

# One ingestion service (and event loop) for the module: ingesting the corpus is the slow part.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SAMPLE_DOCUMENTS = 6


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ingestion(tmp_path_factory) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    bus = InMemoryBus()
    repo = InMemoryIngestionRepository()
    vectors = EdgeVectorStore(tmp_path_factory.mktemp("vectors"))
    settings = IngestionSettings(ingest_sample_corpus=True, seed_catalogue=True,
                                 reaper_interval_s=3600, database_url=None, amqp_url=None,
                                 openai_base_url=None)
    service = build_ingestion(settings,
                              Adapters(settings, bus=bus, vectors=vectors, files=InMemoryFileStore()),
                              repo=repo)
    await service.start()
    await bus.start()

    async def completed() -> list:
        _, rows = await repo.list_documents(status=DocumentStatus.COMPLETED, limit=100)
        return rows

    async def wait() -> None:
        while len(await completed()) < SAMPLE_DOCUMENTS:
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(wait(), 120)  # a deadlock guard, not a measurement
        documents = {(d.company_symbol, d.fiscal_period): d.id for d in await completed()}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                     base_url="http://ingestion") as client:
            yield client, documents
    finally:
        await bus.stop()
        await service.stop()
        await vectors.close()


async def ask(client: httpx.AsyncClient, question: str, query_id: str):
    bus = InMemoryBus()
    repository = InMemoryQueryRepository()
    seen: list[Envelope] = []

    async def observe(envelope: Envelope) -> None:
        seen.append(envelope)

    bus.subscribe("test-observer", ["#"], observe)
    service = build(RagQuerySettings(), Adapters(bus=bus, chat_model=ExtractiveAnswerer()),
                    ingestion=client, repository=repository, instance_id="sample",
                    today=lambda: date(2024, 11, 25))
    await service.start()
    await bus.start()
    try:
        request = AnswerQuestion(job_id=query_id, owner="7", question=question,
                             stream=True)
        await bus.publish(Envelope.wrap(request, correlation_id=query_id))
        await bus.drain(timeout=60)
    finally:
        await bus.stop()
        await service.stop()
    frames = sorted((e.parse() for e in seen if e.type == "QueryFrame"), key=lambda f: f.seq)
    return frames, await repository.get(query_id)


CASES = [
    ("What was Reliance's revenue from operations in FY2024?", ("RELIANCE.NS", "FY2024"), 2, "9,74,864"),
    ("What was RIL's net profit in Q2 FY25?", ("RELIANCE.NS", "Q2FY25"), None, "19,101"),
    ("What was TCS net profit in FY24?", ("TCS.NS", "FY2024"), 2, "45,908"),
    ("What was the revenue of the Retail segment of Infosys in FY2024?", ("INFY.NS", "FY2024"), 3, "22,750"),
    ("What was TCS attrition in Q2FY25?", ("TCS.NS", "Q2FY25"), 2, "12.3%"),
    ("Infy operating profit last quarter", ("INFY.NS", "Q2FY25"), 1, "8,649"),
]


@pytest.mark.parametrize(("question", "filing", "page", "figure"), CASES)
async def test_sample_corpus_questions_cite_the_right_filing_and_page(
    ingestion, question, filing, page, figure
):
    client, documents = ingestion
    frames, record = await ask(client, question, f"q-{abs(hash(question))}")
    assert record.status is QueryStatus.COMPLETED, record.workflow_trace
    assert figure in record.response
    cited = [(c["document_id"], c["page_number"]) for c in record.citations]
    assert cited, record.response
    assert cited[0][0] == documents[filing], "the first citation is the asked company and period"
    if page is not None:
        assert (documents[filing], page) in cited
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert frames[-1].event == "done"


async def test_company_data_from_the_sample_fundamentals(ingestion):
    client, _ = ingestion
    frames, record = await ask(client, "What is the P/E ratio of Infosys?", "q-pe")
    nodes = [f.data["node"] for f in frames if f.event == "node"]
    assert nodes[:2] == ["router", "company_data"] and "retrieve" not in nodes
    assert "29.0" in record.response  # Q2FY25, the latest period in fundamentals.csv
    assert record.citations[0]["document_id"] is None
