"""Embedded start-up: the catalogue is seeded and the bundled sample corpus is searchable."""

from __future__ import annotations

import asyncio

from ingestion_testkit import ADMIN, Harness


async def wait_for_completion(h: Harness, expected: int) -> None:
    """The corpus is queued by a start-up task: wait for its documents, then for the bus."""
    while (await h.repo.list_documents(limit=1))[0] < expected:
        await asyncio.sleep(0.05)
    await h.drain(timeout=300)


async def test_sample_corpus_is_ingested_at_start_up(tmp_path):
    async with Harness(tmp_path, ingest_sample_corpus=True) as h:
        await wait_for_completion(h, 6)
        total, documents = await h.repo.list_documents(limit=50)
        assert total == 6 and {d.status.value for d in documents} == {"completed"}
        assert {d.company_symbol for d in documents} == {"RELIANCE.NS", "TCS.NS", "INFY.NS"}
        assert {d.fiscal_period for d in documents} == {"FY2024", "Q2FY25"}

        hits = (await h.client.post("/internal/search", json={
            "query": "Reliance revenue from operations FY2024", "company_symbols": ["RELIANCE.NS"],
            "fiscal_periods": ["FY2024"], "limit": 3})).json()["hits"]
        highlights = [h for h in hits if "Revenue from operations | FY2024: 9,74,864" in h["text"]]
        assert highlights, [h["text"][:80] for h in hits]  # within the top 3 (lexical embedder)
        assert highlights[0]["doc_type"] == "annual_report" and highlights[0]["page_number"] == 2
        assert {h["company_symbol"] for h in hits} == {"RELIANCE.NS"}
        assert {h["fiscal_period"] for h in hits} == {"FY2024"}

        hits = (await h.client.post("/internal/search", json={
            "query": "TCS attrition", "company_symbols": ["TCS"], "limit": 2})).json()["hits"]
        assert any("Attrition" in hit["text"] for hit in hits)

        detail = (await h.client.get("/api/v1/companies/RELIANCE.NS")).json()
        assert detail["latest_fundamentals"]["period"] == "Q2FY25"
        assert detail["latest_price"]["date"] == "2024-11-25"
        news = (await h.client.get("/api/v1/companies/INFY.NS/news")).json()["news"]
        assert [n["sentiment"] for n in news] == ["negative", "positive"]

        # Bootstrap over the sample registry finds the same documents: nothing new is queued.
        body = (await h.client.post("/api/v1/admin/bootstrap", headers=ADMIN, json={
            "companies": ["RELIANCE.NS", "TCS.NS"], "doc_types": ["annual_report"],
            "years": [2024, 2023]})).json()
        assert body["estimated_documents"] == 2
        await h.drain()
        assert (await h.repo.list_documents())[0] == 6


def test_adapter_choice_follows_settings(tmp_path, monkeypatch):
    from pathlib import Path

    from beacon_runtime.adapters import build_embedder, build_file_store, build_vector_store
    from beacon_runtime.files import InMemoryFileStore, LocalFileStore
    from beacon_ingestion.settings import IngestionSettings
    from beacon_runtime.embeddings.local import HashingEmbedder
    from beacon_runtime.embeddings.minilm import MiniLMEmbedder
    from beacon_runtime.embeddings.openai_compat import OpenAIEmbedder
    from beacon_runtime.vectors.edge import EdgeVectorStore
    from beacon_runtime.vectors.qdrant_server import QdrantServerStore

    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "AMQP_URL", "OPENAI_BASE_URL", "QDRANT_URL", "FILES_DIR", "VECTORS_DIR",
                 "EMBEDDING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    embedded = IngestionSettings()
    assert isinstance(build_file_store(embedded), InMemoryFileStore)
    # The offline default is the semantic model (loaded on first use, so this is cheap).
    assert isinstance(build_embedder(embedded), MiniLMEmbedder)
    assert isinstance(build_embedder(IngestionSettings(embedding_backend="hashing")), HashingEmbedder)
    edge = build_vector_store(embedded)
    assert isinstance(edge, EdgeVectorStore) and edge._temporary  # noqa: SLF001

    persistent = IngestionSettings(database_url="postgresql://x@127.0.0.1/db")
    assert isinstance(build_file_store(persistent), LocalFileStore)
    kept = build_vector_store(persistent)
    assert not kept._temporary and kept._base == Path("var/ingestion/vectors")  # noqa: SLF001

    remote = IngestionSettings(qdrant_url="http://127.0.0.1:6333", openai_base_url="http://127.0.0.1:9/v1")
    assert isinstance(build_vector_store(remote), QdrantServerStore)
    assert isinstance(build_embedder(remote), OpenAIEmbedder)
    local = IngestionSettings(openai_base_url="http://127.0.0.1:9/v1", embedding_backend="local")
    assert isinstance(build_embedder(local), HashingEmbedder)
