"""all-MiniLM-L6-v2 run with numpy gives the reference model's vectors."""

from __future__ import annotations

import numpy as np
import pytest

from beacon_runtime.embeddings.minilm import MAX_TOKENS, MiniLMEmbedder


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


def test_similarities_match_the_reference_implementation(embedder):
    # The values sentence-transformers prints for these three sentences with this model
    # (its quickstart): a wrong layer, pooling or GELU moves them in the second decimal.
    v = embedder.embed_array(["The weather is lovely today.", "It's so sunny outside!",
                              "He drove to the stadium."])
    sims = v @ v.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=2e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=2e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=2e-3)
    assert np.linalg.norm(v, axis=1) == pytest.approx([1, 1, 1], abs=1e-5)


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(embedder):
    short, long = "Revenue from operations", "Net cash provided by operating activities " * 8
    alone = embedder.embed_array([short])[0]
    batched = embedder.embed_array([long, short, long])
    assert np.allclose(alone, batched[1], atol=1e-5)
    assert np.allclose(batched[0], batched[2], atol=1e-6)


def test_long_texts_are_truncated_to_the_model_window(embedder):
    words = "capital expenditure " * 400
    assert embedder.embed_array([words]).shape == (1, 384)  # loads the model, no error
    assert len(embedder._tokenizer.encode(words).ids) == MAX_TOKENS


async def test_semantic_neighbours_rank_above_unrelated_text(embedder):
    query = await embedder.embed_query("How much did the company spend on capital expenditure?")
    docs = await embedder.embed_documents([
        "Purchases of property and equipment were $12,479 million in the quarter.",
        "The Board of Directors met four times during the year.",
    ])
    q = np.asarray(query)
    assert q @ np.asarray(docs[0]) > q @ np.asarray(docs[1])
