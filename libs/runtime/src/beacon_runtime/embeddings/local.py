"""Offline, deterministic embeddings that ship with the code: no model, no download.

`HashingEmbedder` is LEXICAL, NOT SEMANTIC. It hashes normalised words, word bigrams and
character trigrams into a fixed number of signed buckets (feature hashing) and L2-normalises
the result, so texts that share words and word pieces are close, and synonyms are not
("revenue" and "turnover" are unrelated to it). It exists so that embedded mode and tests work
on a fresh machine; point OPENAI_BASE_URL at an embedding model for semantic retrieval.

`Bm25SparseEncoder` gives the sparse half of hybrid search: BM25 term-frequency saturation
per document, terms hashed to 31-bit indices; the vector store applies IDF (Qdrant's `idf`
modifier), so weights stay correct as the collection grows.

`tokenize` is shared by both. Finance text needs two things plain tokenizers miss: Indian
digit grouping ("9,74,864" is one number) and fiscal labels, which are emitted whole and in
parts, so "FY2024" also matches "2024" and "FY24", and "Q2FY25" also matches "Q2" and "FY2025".
"""

from __future__ import annotations

import asyncio
import math
import re
import zlib
from collections import Counter
from functools import lru_cache

import numpy as np

from beacon_runtime.embeddings.port import Embedder, SparseEncoder
from beacon_runtime.vectors.port import SparseVector

_DIGIT_GROUPS = re.compile(r"(?<=\d),(?=\d)")
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_FISCAL = re.compile(r"^(?:(q[1-4]|h[12]))?fy(\d{2}|\d{4})$")
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will", "with", "which", "who", "what", "when", "where", "how", "than", "then", "there", "their", "these", "those", "our", "we", "you", "your", "they", "them", "he", "she", "his", "her", "not", "but", "been", "being", "do", "does", "did", "so", "such", "into", "over", "under", "about", "also", "any", "all", "can", "may", "per"]
)


def _stem(word: str) -> str:
    """Plural folding only: enough for "revenues"/"revenue" without a stemmer's surprises."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) and word.isalpha():
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def _expand(token: str) -> tuple[str, ...]:
    if token in STOPWORDS:
        return ()
    if (m := _FISCAL.match(token)) is not None:
        part, year = m.group(1), m.group(2)
        full = year if len(year) == 4 else f"20{year}"
        short = full[2:]
        terms = [f"fy{full}", full]
        if part:
            terms = [f"{part}fy{short}", part, *terms]
        return tuple(terms)
    return (_stem(token),)


def tokenize(text: str) -> list[str]:
    text = _DIGIT_GROUPS.sub("", text.lower())
    terms: list[str] = []
    for token in _TOKEN.findall(text):
        terms.extend(_expand(token))
    return terms


def term_index(term: str) -> int:
    return zlib.crc32(term.encode()) & 0x7FFFFFFF


@lru_cache(maxsize=131072)
def _word_features(word: str, dim: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Buckets and signed weights for one word: the word itself and its trigrams."""
    idx, val = [], []
    h = zlib.crc32(b"w:" + word.encode())
    idx.append(h % dim)
    val.append(1.0 if h & 0x80000000 else -1.0)
    padded = f"<{word}>"
    grams = [padded[i:i + 3] for i in range(len(padded) - 2)] if len(word) > 2 else []
    weight = 0.5 / math.sqrt(len(grams)) if grams else 0.0
    for gram in grams:
        h = zlib.crc32(b"c:" + gram.encode())
        idx.append(h % dim)
        val.append(weight if h & 0x80000000 else -weight)
    return tuple(idx), tuple(val)


class HashingEmbedder(Embedder):
    """Feature-hashing embedder (lexical, not semantic): see the module docstring."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.name = f"local-hashing-{dim}"

    def embed_sync(self, texts: list[str]) -> list[list[float]]:
        dim = self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = tokenize(text)
            if not words:
                continue
            indices: list[int] = []
            values: list[float] = []
            for word, tf in Counter(words).items():
                idx, val = _word_features(word, dim)
                scale = 1.0 + math.log(tf)
                indices.extend(idx)
                values.extend(v * scale for v in val)
            # Word bigrams keep a little order ("net profit" vs "profit ... net").
            for a, b in zip(words, words[1:], strict=False):
                h = zlib.crc32(f"b:{a} {b}".encode())
                indices.append(h % dim)
                values.append(0.5 if h & 0x80000000 else -0.5)
            vector = np.bincount(indices, weights=values, minlength=dim)
            norm = float(np.linalg.norm(vector))
            if norm > 0:
                out[row] = vector / norm
        return out.tolist()

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if len(texts) <= 8:
            return self.embed_sync(texts)
        return await asyncio.to_thread(self.embed_sync, texts)

    async def embed_query(self, text: str) -> list[float]:
        return self.embed_sync([text])[0]


class Bm25SparseEncoder(SparseEncoder):
    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_doc_len: float = 120.0) -> None:
        self.k1, self.b, self.avg_doc_len = k1, b, avg_doc_len

    def encode_document(self, text: str) -> SparseVector:
        terms = tokenize(text)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avg_doc_len)
        weights: dict[int, float] = {}
        for term, tf in Counter(terms).items():
            index = term_index(term)
            weights[index] = weights.get(index, 0.0) + tf * (self.k1 + 1) / (tf + norm)
        return _sparse(weights)

    def encode_query(self, text: str) -> SparseVector:
        return _sparse({term_index(term): 1.0 for term in set(tokenize(text))})


def _sparse(weights: dict[int, float]) -> SparseVector:
    indices = sorted(weights)
    return SparseVector(indices=indices, values=[round(weights[i], 6) for i in indices])
