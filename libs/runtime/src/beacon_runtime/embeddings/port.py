"""Embedding ports: dense vectors from a model, sparse lexical vectors for hybrid search."""

from __future__ import annotations

from abc import ABC, abstractmethod

from beacon_runtime.instrumentation import instrument_embedder
from beacon_runtime.vectors.port import SparseVector


class Embedder(ABC):
    name: str
    dim: int

    def __init_subclass__(cls, **kwargs) -> None:
        # Every adapter's calls are traced and counted: beacon_runtime.instrumentation.
        super().__init_subclass__(**kwargs)
        instrument_embedder(cls)

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
