"""The vector store port: one collection of chunks, a named dense and a sparse vector each."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from beacon_runtime.instrumentation import instrument_vector_store


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class VectorPoint:
    id: str  # a UUID string derived from content, so re-indexing overwrites, never duplicates
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoredPoint:
    id: str
    score: float
    payload: dict[str, Any]


class VectorStore(ABC):
    """Filters are equality or any-of matches on payload keys:
    `{"company_symbol": "TCS.NS", "fiscal_period": ["FY2024", "Q4FY24"]}`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every store's searches and upserts are traced: beacon_runtime.instrumentation.
        super().__init_subclass__(**kwargs)
        instrument_vector_store(cls)

    @abstractmethod
    async def ensure_collection(self, name: str, dense_dim: int) -> None: ...

    @abstractmethod
    async def upsert(self, name: str, points: list[VectorPoint]) -> None: ...

    @abstractmethod
    async def hybrid_search(
        self,
        name: str,
        dense: list[float],
        sparse: SparseVector,
        *,
        filters: dict[str, Any] | None = None,
        limit: int = 10,
    ) -> list[ScoredPoint]:
        """Dense and sparse candidates fused by rank."""

    @abstractmethod
    async def delete_where(self, name: str, filters: dict[str, Any]) -> None: ...

    @abstractmethod
    async def count(self, name: str, filters: dict[str, Any] | None = None) -> int: ...

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
