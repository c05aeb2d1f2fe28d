"""Where the ingestion service keeps its rows: the port.

The in-memory twin is `repository/memory.py`, the Postgres adapter `repository/postgres.py`; one contract suite
(tests/contract/test_ingestion_repository_contract.py) runs against both. All SQL lives in
the adapters; callers never see a session or a transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from beacon_ingestion.domain import (
    BootstrapState,
    BootstrapTask,
    Chunk,
    Company,
    Document,
    DocumentStatus,
    Fundamentals,
    NewDocument,
    NewsItem,
    Price,
    StageRecord,
)

ACTIVE = (DocumentStatus.PENDING, DocumentStatus.PROCESSING)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CatalogueRefresh:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    total: int = 0


class UnknownCompany(Exception):
    def __init__(self, symbols: list[str]) -> None:
        super().__init__(", ".join(symbols))
        self.symbols = symbols


class IngestionRepository(ABC):
    # ------------------------------------------------------------ companies
    @abstractmethod
    async def upsert_companies(self, companies: list[Company]) -> CatalogueRefresh:
        """Write each company whole (every field, `active` included), keyed by symbol; companies
        not in the list are left as they are. Says which symbols were added and updated."""

    async def refresh_companies(self, companies: list[Company]) -> CatalogueRefresh:
        """The former name of `upsert_companies`, kept for its callers (bench/rag_eval.py); it
        no longer deactivates the companies the list leaves out."""
        return await self.upsert_companies(companies)

    @abstractmethod
    async def companies_by_symbol(self, symbols: list[str]) -> dict[str, Company]:
        """The stored companies (active or retired) among `symbols`."""

    @abstractmethod
    async def count_companies(self) -> int: ...

    @abstractmethod
    async def list_companies(
        self, *, sector: str | None = None, index: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[Company]]:
        """Active companies (of `index` when given) by market-cap rank (nulls last), then symbol."""

    @abstractmethod
    async def get_company(self, symbol: str) -> Company | None: ...

    # ------------------------------------------------------------ company data
    @abstractmethod
    async def upsert_fundamentals(self, rows: list[Fundamentals]) -> int:
        """Raises UnknownCompany (and writes nothing) if a symbol is not in the catalogue."""

    @abstractmethod
    async def list_fundamentals(
        self, symbol: str, *, period_type: str | None = None, limit: int = 8
    ) -> list[Fundamentals]:
        """Newest period first."""

    @abstractmethod
    async def upsert_prices(self, rows: list[Price]) -> int: ...

    @abstractmethod
    async def list_prices(
        self, symbol: str, *, date_from: date | None = None, date_to: date | None = None,
        limit: int = 5000,
    ) -> list[Price]:
        """Newest day first."""

    @abstractmethod
    async def latest_price(self, symbol: str) -> tuple[Price, float | None] | None:
        """The latest day and the close of the trading day before it."""

    @abstractmethod
    async def upsert_news(self, rows: list[NewsItem]) -> int:
        """Keyed by (company, url): a re-import updates, never duplicates."""

    @abstractmethod
    async def list_news(self, symbol: str, *, limit: int = 10) -> list[NewsItem]: ...

    # ------------------------------------------------------------ documents
    @abstractmethod
    async def create_document(self, new: NewDocument) -> Document: ...

    @abstractmethod
    async def get_document(self, document_id: int) -> Document | None: ...

    @abstractmethod
    async def update_document(self, document_id: int, **changes: Any) -> None: ...

    @abstractmethod
    async def find_live_by_source(
        self, source_url: str, company_symbol: str | None, doc_type: str, fiscal_period: str | None
    ) -> Document | None:
        """A document for the same source and metadata that has not failed."""

    @abstractmethod
    async def find_completed_by_sha(self, sha256: str, *, exclude: int | None = None) -> Document | None:
        """An original (not a duplicate) completed document with these bytes, never customer
        material (which is deduplicated per owner)."""

    @abstractmethod
    async def list_documents(
        self, *, symbol: str | None = None, status: str | None = None,
        doc_type: str | None = None, limit: int = 50, offset: int = 0,
    ) -> tuple[int, list[Document]]:
        """Newest first; never customer material (`MATERIAL`), which only its owner lists."""

    @abstractmethod
    async def material_of(self, owner: str) -> list[Document]:
        """The owner's customer material, newest first."""

    @abstractmethod
    async def expired_material(self, created_before: datetime) -> list[Document]:
        """Customer material of every owner created before the cut-off."""

    @abstractmethod
    async def delete_document(self, document_id: int) -> bool:
        """Remove the row with its stages and chunks; False if there was none."""

    @abstractmethod
    async def stages(self, document_id: int) -> dict[str, StageRecord]:
        """Every stage, in pipeline order; stages never saved are pending."""

    @abstractmethod
    async def save_stage(self, document_id: int, record: StageRecord) -> None: ...

    @abstractmethod
    def hold(self, document_id: int) -> AbstractAsyncContextManager[bool]:
        """Hold the document while a run works on it: yields False if another run holds it.

        The hold ends with the context, and also when its holder dies (Postgres: a session
        advisory lock on a connection of its own), so a redelivery after a crash can run."""

    @abstractmethod
    async def start_attempt(self, document_id: int, now: datetime) -> int:
        """A run begins: the document becomes processing; returns its attempt number (1, 2, ...)."""

    @abstractmethod
    async def open_documents(self) -> list[int]:
        """Pending and processing documents, oldest first."""

    @abstractmethod
    async def replace_chunks(self, document_id: int, chunks: list[Chunk]) -> None: ...

    @abstractmethod
    async def chunks(self, document_id: int) -> list[Chunk]: ...

    async def chunks_at(self, document_id: int, indexes: set[int]) -> list[Chunk]:
        """The document's chunks at these places (a search hit's neighbours); every chunk
        is read unless a backend answers the few directly."""
        return [c for c in await self.chunks(document_id) if c.chunk_index in indexes]

    @abstractmethod
    async def ingestion_stats(self, since: datetime) -> dict[str, Any]:
        """Counts for GET /admin/stats/ingestion (customer material not included); `since`
        bounds `last_24h`."""

    @abstractmethod
    async def documents_by_id(self, document_ids: list[int]) -> dict[int, Document]:
        """The stored documents among `document_ids` (missing ones left out)."""

    @abstractmethod
    async def stages_of(self, document_ids: list[int]) -> dict[int, dict[str, StageRecord]]:
        """`stages` of many documents in one read."""

    # ------------------------------------------------------------ bootstrap tasks
    @abstractmethod
    async def create_bootstrap_task(self, task: BootstrapTask) -> bool:
        """Store the task with its items; False (and nothing written) if its id exists."""

    @abstractmethod
    async def get_bootstrap_task(self, task_id: str) -> BootstrapTask | None:
        """The task with its items in plan order."""

    @abstractmethod
    async def set_bootstrap_state(self, task_id: str, status: BootstrapState, *,
                                  error: str | None = None, now: datetime | None = None) -> None:
        """RUNNING stamps `started_at`, QUEUED and FAILED stamp `finished_at` (with `now`)."""

    @abstractmethod
    async def set_bootstrap_item(self, task_id: str, position: int, *,
                                 document_id: int | None = None, reason: str | None = None) -> None: ...

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
