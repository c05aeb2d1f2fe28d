"""The rag-query graph against the real ingestion service, in process over httpx.ASGITransport.

The ingestion app runs as the embedded mode runs it (in-memory rows and files, qdrant-edge
vectors, the offline hashing embedder); real PDFs are uploaded through its API, parsed,
chunked, embedded and indexed by its pipeline; rag-query then searches them through
`POST /internal/search` and reads the catalogue from `GET /internal/companies`.
"""

from __future__ import annotations

from datetime import date

from ingestion_testkit import USER, Harness, make_pdf

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.bootstrap import build
from beacon_rag_query.domain import QueryStatus
from beacon_rag_query.repository import InMemoryQueryRepository
from beacon_rag_query.settings import RagQuerySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus



async def _upload(h: Harness, pdf: bytes, **meta) -> int:
    response = await h.client.post("/api/v1/documents/upload", headers=USER, data=meta,
                                   files={"file": ("report.pdf", pdf, "application/pdf")})
    assert response.status_code == 202, response.text
    return response.json()["document_id"]


async def _ask(ingestion_client, question: str, query_id: str):
    bus = InMemoryBus()
    repository = InMemoryQueryRepository()
    seen: list[Envelope] = []

    async def observe(envelope: Envelope) -> None:
        seen.append(envelope)

    bus.subscribe("test-observer", ["#"], observe)
    service = build(RagQuerySettings(), Adapters(bus=bus, chat_model=ExtractiveAnswerer()),
                    ingestion=ingestion_client, repository=repository, instance_id="it",
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


async def test_the_graph_answers_from_documents_the_ingestion_service_indexed(tmp_path):
    async with Harness(tmp_path) as h:
        reliance = await _upload(h, make_pdf(3, company="Reliance Industries"),
                                 company_symbol="RELIANCE.NS", doc_type="annual_report",
                                 fiscal_period="FY2024", title="Reliance Annual Report FY2024")
        tcs = await _upload(h, make_pdf(3, company="Tata Consultancy Services", marker="TCS."),
                            company_symbol="TCS.NS", doc_type="annual_report",
                            fiscal_period="FY2024", title="TCS Annual Report FY2024")
        await h.drain()
        assert (await h.status(reliance))["status"] == "completed"
        assert (await h.status(tcs))["status"] == "completed"

        frames, record = await _ask(h.client, "What was Reliance's net profit in FY2024?", "q-ril")

    nodes = [f.data["node"] for f in frames if f.event == "node"]
    assert nodes[:3] == ["router", "retrieve", "grade"] and nodes[-1] == "cite"
    retrieve = next(f.data for f in frames if f.event == "node" and f.data["node"] == "retrieve")
    assert retrieve["documents_found"] >= 1
    assert record.status is QueryStatus.COMPLETED
    assert "79,020" in record.response
    # The figure is in the table on page 2 of Reliance's report, never TCS's.
    cited = {(c["document_id"], c["page_number"]) for c in record.citations}
    assert (reliance, 2) in cited
    assert all(document_id == reliance for document_id, _ in cited)
    assert record.workflow_trace["filters"]["company_symbols"] == ["RELIANCE.NS"]
    assert record.metrics["faithfulness_score"] == 1.0
