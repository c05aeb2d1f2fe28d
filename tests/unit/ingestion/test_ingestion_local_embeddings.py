import math
import os
import subprocess
import sys

import numpy as np
from beacon_runtime.embeddings.local import Bm25SparseEncoder, HashingEmbedder, term_index, tokenize


def test_tokenizer_splits_fiscal_labels_and_keeps_indian_numbers():
    assert tokenize("FY2024") == ["fy2024", "2024"]
    assert tokenize("FY24") == ["fy2024", "2024"]
    assert tokenize("Q2FY25") == ["q2fy25", "q2", "fy2025", "2025"]
    assert tokenize("Revenue of ₹9,74,864 crore") == ["revenue", "974864", "crore"]
    assert tokenize("The revenues of companies") == ["revenue", "company"]
    assert tokenize("EPS was 141.56") == ["eps", "141.56"]


def test_dense_vectors_are_normalised_and_lexically_close():
    embedder = HashingEmbedder(dim=384)
    a, b, c, empty = embedder.embed_sync([
        "Revenue from operations grew in FY2024",
        "revenues from operation grew in FY 2024",
        "The board appointed an independent director",
        "",
    ])
    assert math.isclose(np.linalg.norm(a), 1.0, rel_tol=1e-5) and len(a) == 384
    assert np.dot(a, b) > 0.6
    assert abs(np.dot(a, c)) < 0.2
    assert not any(empty)


def test_dense_vectors_do_not_depend_on_the_process_hash_seed():
    code = ("from beacon_runtime.embeddings.local import HashingEmbedder;"
            "print(HashingEmbedder(16).embed_sync(['net profit FY2024'])[0][:4])")
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_sparse_document_weights_saturate_and_query_weights_are_flat():
    encoder = Bm25SparseEncoder()
    doc = encoder.encode_document("profit profit profit profit revenue")
    weights = dict(zip(doc.indices, doc.values, strict=True))
    assert weights[term_index("profit")] > weights[term_index("revenue")]
    assert weights[term_index("profit")] < 4 * weights[term_index("revenue")]  # saturation
    assert doc.indices == sorted(doc.indices)
    query = encoder.encode_query("FY2024 profit")
    assert set(query.indices) == {term_index(t) for t in ("fy2024", "2024", "profit")}
    assert set(query.values) == {1.0}
