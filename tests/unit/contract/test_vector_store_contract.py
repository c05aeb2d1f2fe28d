"""One contract for both VectorStore adapters: qdrant-edge (embedded mode) and qdrant-client
(run here in its local mode, since no Qdrant server can be installed on this machine)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from beacon_runtime.embeddings.local import Bm25SparseEncoder, HashingEmbedder
from beacon_runtime.vectors.edge import EdgeVectorStore
from beacon_runtime.vectors.port import VectorPoint, VectorStore
from beacon_runtime.vectors.qdrant_server import CollectionMismatch, QdrantServerStore

EMBEDDER = HashingEmbedder(dim=64)
SPARSE = Bm25SparseEncoder()
DOCS = [
    # (document_id, company, period, text)
    (1, "RELIANCE.NS", "FY2024", "Revenue from operations rose to 9,74,864 crore in FY2024."),
    (1, "RELIANCE.NS", "FY2024", "Jio added subscribers; digital services margin improved."),
    (2, "TCS.NS", "FY2024", "TCS revenue grew on strong deal wins in banking clients."),
    (2, "TCS.NS", "FY2024", "Attrition fell and headcount was stable during the year."),
    (3, "INFY.NS", "Q2FY25", "Infosys raised revenue guidance for Q2FY25 after large deals."),
]


@pytest.fixture(params=["edge", "qdrant-local"])
async def store(request, tmp_path) -> AsyncIterator[VectorStore]:
    if request.param == "edge":
        adapter: VectorStore = EdgeVectorStore(tmp_path / "vectors")
    else:
        adapter = QdrantServerStore(location=":memory:")
    try:
        yield adapter
    finally:
        await adapter.close()


def point(document_id: int, company: str, period: str, text: str, index: int) -> VectorPoint:
    return VectorPoint(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{document_id}:{index}:{text}")),
        dense=EMBEDDER.embed_sync([text])[0],
        sparse=SPARSE.encode_document(text),
        payload={"document_id": document_id, "company_symbol": company, "fiscal_period": period,
                 "doc_type": "annual_report", "page_number": index + 1, "text": text},
    )


POINTS = [point(*doc, index=i) for i, doc in enumerate(DOCS)]


async def search(store: VectorStore, text: str, **kwargs):
    return await store.hybrid_search("chunks", EMBEDDER.embed_sync([text])[0],
                                     SPARSE.encode_query(text), **kwargs)


async def test_missing_collection_is_empty(store):
    assert await store.count("chunks") == 0
    assert await search(store, "revenue") == []
    await store.delete_where("chunks", {"document_id": 1})  # no error


async def test_upsert_count_and_idempotent_reupsert(store):
    await store.ensure_collection("chunks", 64)
    await store.ensure_collection("chunks", 64)  # idempotent
    await store.upsert("chunks", POINTS)
    await store.upsert("chunks", POINTS[:3])  # same content-derived ids: overwritten
    assert await store.count("chunks") == 5
    assert await store.count("chunks", {"company_symbol": "TCS.NS"}) == 2
    assert await store.count("chunks", {"company_symbol": ["TCS.NS", "INFY.NS"]}) == 3
    assert await store.count("chunks", {"document_id": 1}) == 2
    assert await store.count("chunks", {"company_symbol": "TCS.NS", "fiscal_period": "Q2FY25"}) == 0
    assert await store.count("chunks", {"company_symbol": []}) == 5  # empty any-of: no filter


async def test_dimension_mismatch_is_refused(store):
    await store.ensure_collection("chunks", 64)
    with pytest.raises(CollectionMismatch):
        await store.ensure_collection("chunks", 32)


async def test_hybrid_search_ranks_and_returns_payload(store):
    await store.ensure_collection("chunks", 64)
    await store.upsert("chunks", POINTS)
    hits = await search(store, "Jio subscribers digital services", limit=3)
    assert hits[0].id == POINTS[1].id
    assert hits[0].payload["company_symbol"] == "RELIANCE.NS" and hits[0].payload["page_number"] == 2
    assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score
    # A fiscal label written whole in the text is found from its parts, and vice versa.
    hits = await search(store, "guidance FY2025 Q2", limit=1)
    assert hits[0].id == POINTS[4].id


async def test_filters_restrict_both_halves(store):
    await store.ensure_collection("chunks", 64)
    await store.upsert("chunks", POINTS)
    hits = await search(store, "revenue", filters={"company_symbol": "TCS.NS"}, limit=10)
    assert {h.payload["company_symbol"] for h in hits} == {"TCS.NS"} and len(hits) == 2
    hits = await search(store, "revenue", filters={"company_symbol": ["INFY.NS", "RELIANCE.NS"],
                                                    "fiscal_period": ["Q2FY25"]}, limit=10)
    assert [h.id for h in hits] == [POINTS[4].id]
    assert await search(store, "revenue", filters={"company_symbol": "NOPE.NS"}) == []


async def test_delete_where(store):
    await store.ensure_collection("chunks", 64)
    await store.upsert("chunks", POINTS)
    await store.delete_where("chunks", {"document_id": 1})
    assert await store.count("chunks") == 3
    assert await store.count("chunks", {"document_id": 1}) == 0
    with pytest.raises(ValueError):
        await store.delete_where("chunks", {})


async def test_query_without_known_terms_still_uses_dense(store):
    await store.ensure_collection("chunks", 64)
    await store.upsert("chunks", POINTS)
    hits = await store.hybrid_search("chunks", EMBEDDER.embed_sync(["attrition headcount"])[0],
                                     SPARSE.encode_query("the of and"), limit=1)
    assert hits[0].id == POINTS[3].id


async def test_edge_store_survives_reopen(tmp_path):
    first = EdgeVectorStore(tmp_path / "v")
    await first.ensure_collection("chunks", 64)
    await first.upsert("chunks", POINTS)
    await first.close()
    second = EdgeVectorStore(tmp_path / "v")
    try:
        assert await second.count("chunks") == 5
        with pytest.raises(CollectionMismatch):
            await second.ensure_collection("chunks", 32)
        assert (await search(second, "Jio subscribers", limit=1))[0].id == POINTS[1].id
    finally:
        await second.close()


async def test_temporary_edge_store_cleans_up():
    store = EdgeVectorStore()
    base = store._base
    await store.ensure_collection("chunks", 64)
    assert base.exists()
    await store.close()
    assert not base.exists()


async def test_both_adapters_rank_alike(tmp_path):
    """Same points, same query, same fusion constant: the same scores from both engines
    (ties may come in either order)."""
    edge = EdgeVectorStore(tmp_path / "same")
    local = QdrantServerStore(location=":memory:")
    try:
        results = []
        for store in (edge, local):
            await store.ensure_collection("chunks", 64)
            await store.upsert("chunks", POINTS)
            hits = await search(store, "revenue grew FY2024 deals", limit=5)
            results.append({h.id: round(h.score, 5) for h in hits})
        assert results[0] == results[1] and len(results[0]) == 5
    finally:
        await edge.close()
        await local.close()
