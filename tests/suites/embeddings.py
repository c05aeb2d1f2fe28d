"""One contract for every dense embedder: the offline hashing embedder and the
OpenAI-compatible adapter against a real local HTTP server (tests/fake_openai.py). Run by
tests/unit/contract (offline) and tests/integration/contract (adapter)."""

from __future__ import annotations

import math

import pytest

from beacon_runtime.embeddings.port import Embedder

TEXTS = [
    "Revenue from operations rose 2.6% to Rs 9,74,864 crore in FY2024.",
    "Attrition fell to 12.5% in the quarter.",
    "",  # an empty chunk still gets a vector of the right size
    "Ü, 中文 and emoji 🚀 are text too.",
    "Net profit attributable to owners was Rs 69,621 crore.",
]


@pytest.fixture
async def embedder(backend, request) -> Embedder:
    if backend == "hashing":
        from beacon_runtime.embeddings.local import HashingEmbedder

        model: Embedder = HashingEmbedder(dim=64)
    else:
        from beacon_runtime.embeddings.openai_compat import OpenAIEmbedder

        base_url, _ = request.getfixturevalue("openai_server")
        # batch_size 2: five texts take three requests, whose answers must stay in order.
        model = OpenAIEmbedder(base_url=base_url, api_key="k", model="embed", dimensions=16,
                               batch_size=2, timeout_s=10, max_retries=0)
    yield model
    await model.close()


async def test_one_vector_per_text_all_of_the_embedders_dimension(embedder):
    vectors = await embedder.embed_documents(TEXTS)
    assert len(vectors) == len(TEXTS)
    assert embedder.dim > 0 and {len(v) for v in vectors} == {embedder.dim}
    assert all(isinstance(x, float) and math.isfinite(x) for v in vectors for x in v)


async def test_vectors_stay_in_the_order_of_the_texts(embedder):
    together = await embedder.embed_documents(TEXTS)
    for text, vector in zip(TEXTS, together, strict=True):
        alone = await embedder.embed_documents([text])
        assert alone == [pytest.approx(vector)]


async def test_a_query_vector_has_the_same_dimension(embedder):
    await embedder.embed_documents(TEXTS[:1])
    query = await embedder.embed_query("What was Reliance's revenue in FY2024?")
    assert len(query) == embedder.dim


async def test_no_texts_no_vectors(embedder):
    assert await embedder.embed_documents([]) == []


async def test_the_same_text_gets_the_same_vector(embedder):
    first = await embedder.embed_documents(TEXTS[:2])
    second = await embedder.embed_documents(TEXTS[:2])
    assert first == [pytest.approx(v) for v in second]
