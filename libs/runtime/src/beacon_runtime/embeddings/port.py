"""Embedding ports: dense vectors from a model, sparse lexical vectors for hybrid search."""

from __future__ import annotations

from abc import ABC, abstractmethod

from beacon_runtime.vectors.port import SparseVector


class Embedder(ABC):
    name: str
    dim: int

    @abstractmethod
    async def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    @abstractmethod
    async def embed_query(self, text: str) -> list[float]: ...

    async def close(self) -> None:
        return None


class SparseEncoder(ABC):
    @abstractmethod
    def encode_document(self, text: str) -> SparseVector: ...

    @abstractmethod
    def encode_query(self, text: str) -> SparseVector: ...
