"""The in-memory twin of the ingestion repository (embedded mode and fast tests).

One contract suite (tests/contract/test_ingestion_repository_contract.py) runs against it and
the Postgres adapter.
"""

from __future__ import annotations

import copy
import itertools
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import date, datetime

from beacon_ingestion.domain import (
    MATERIAL,
    BootstrapState,
    BootstrapTask,
    STAGES,
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
from beacon_ingestion.repository.port import (
    ACTIVE,
    CatalogueRefresh,
    IngestionRepository,
    UnknownCompany,
    utcnow,
)


def sort_companies(companies: list[Company]) -> list[Company]:
    return sorted(companies, key=lambda c: (c.market_cap_rank is None, c.market_cap_rank or 0, c.symbol))


class InMemoryIngestionRepository(IngestionRepository):
    """Twin for embedded mode and fast tests; one process, no durability."""

    def __init__(self) -> None:
        self._companies: dict[str, Company] = {}
        self._company_ids = itertools.count(1)
        self._fundamentals: dict[tuple[str, str], Fundamentals] = {}
        self._prices: dict[tuple[str, date], Price] = {}
        self._news: dict[tuple[str, str], NewsItem] = {}
        self._news_ids = itertools.count(1)
        self._news_created: dict[int, datetime] = {}
        self._documents: dict[int, Document] = {}
        self._bootstrap_tasks: dict[str, BootstrapTask] = {}
        self._document_ids = itertools.count(1)
        self._stages: dict[tuple[int, str], StageRecord] = {}
        self._held: set[int] = set()  # documents a run holds
        self._chunks: dict[int, list[Chunk]] = {}

    # companies
    async def upsert_companies(self, companies: list[Company]) -> CatalogueRefresh:
        result = CatalogueRefresh(total=len(companies))
        for company in companies:
            existing = self._companies.get(company.symbol)
            stored = copy.deepcopy(company)
            if existing is None:
                stored.id = next(self._company_ids)
                result.added.append(company.symbol)
            else:
                stored.id = existing.id
                result.updated.append(company.symbol)
            self._companies[company.symbol] = stored
        return result

    async def companies_by_symbol(self, symbols):
        return {s: copy.deepcopy(self._companies[s]) for s in symbols if s in self._companies}

    async def count_companies(self) -> int:
        return sum(1 for c in self._companies.values() if c.active)

    async def list_companies(self, *, sector=None, index=None, limit=50, offset=0):
        rows = [c for c in self._companies.values() if c.active]
        if sector:
            rows = [c for c in rows if (c.sector or "").lower() == sector.lower()]
        if index:
            rows = [c for c in rows if index in c.indices]
        rows = sort_companies(rows)
        return len(rows), [copy.deepcopy(c) for c in rows[offset:offset + limit]]

    async def get_company(self, symbol):
        company = self._companies.get(symbol)
        return copy.deepcopy(company) if company else None

    def _require(self, symbols: set[str]) -> None:
        unknown = sorted(s for s in symbols if s not in self._companies)
        if unknown:
            raise UnknownCompany(unknown)

    # company data
    async def upsert_fundamentals(self, rows):
        self._require({r.symbol for r in rows})
        for row in rows:
            self._fundamentals[(row.symbol, row.period)] = copy.deepcopy(row)
        return len(rows)

    async def list_fundamentals(self, symbol, *, period_type=None, limit=8):
        rows = [f for (s, _), f in self._fundamentals.items() if s == symbol
                and (period_type is None or f.period_type == period_type)]
        rows.sort(key=lambda f: (f.period_end_date, f.period_type == "quarterly"), reverse=True)
        return [copy.deepcopy(f) for f in rows[:limit]]

    async def upsert_prices(self, rows):
        self._require({r.symbol for r in rows})
        for row in rows:
            self._prices[(row.symbol, row.date)] = copy.deepcopy(row)
        return len(rows)

    async def list_prices(self, symbol, *, date_from=None, date_to=None, limit=5000):
        rows = [p for (s, d), p in self._prices.items() if s == symbol
                and (date_from is None or d >= date_from) and (date_to is None or d <= date_to)]
        rows.sort(key=lambda p: p.date, reverse=True)
        return [copy.deepcopy(p) for p in rows[:limit]]

    async def latest_price(self, symbol):
        rows = await self.list_prices(symbol, limit=2)
        if not rows:
            return None
        return rows[0], rows[1].close if len(rows) > 1 else None

    async def upsert_news(self, rows):
        self._require({r.symbol for r in rows})
        for row in rows:
            key = (row.symbol, row.url)
            stored = copy.deepcopy(row)
            existing = self._news.get(key)
            stored.id = existing.id if existing else next(self._news_ids)
            if existing is None:
                self._news_created[stored.id] = utcnow()
            self._news[key] = stored
        return len(rows)

    async def list_news(self, symbol, *, limit=10):
        rows = [n for (s, _), n in self._news.items() if s == symbol]
        rows.sort(key=lambda n: (n.published_at, n.id), reverse=True)
        return [copy.deepcopy(n) for n in rows[:limit]]

    # documents
    async def create_document(self, new):
        document_id = next(self._document_ids)
        now = utcnow()
        values = {f.name: getattr(new, f.name) for f in fields(NewDocument)}
        document = Document(**values, id=document_id, created_at=now, updated_at=now)
        self._documents[document_id] = document
        return copy.deepcopy(document)

    async def get_document(self, document_id):
        document = self._documents.get(document_id)
        return copy.deepcopy(document) if document else None

    async def update_document(self, document_id, **changes):
        document = self._documents[document_id]
        for name, value in changes.items():
            if not hasattr(document, name):
                raise AttributeError(name)
            setattr(document, name, value)
        document.updated_at = utcnow()

    async def find_live_by_source(self, source_url, company_symbol, doc_type, fiscal_period):
        for document in sorted(self._documents.values(), key=lambda d: d.id):
            if (document.source_url == source_url and document.company_symbol == company_symbol
                    and document.doc_type == doc_type and document.fiscal_period == fiscal_period
                    and document.status != DocumentStatus.FAILED):
                return copy.deepcopy(document)
        return None

    async def find_completed_by_sha(self, sha256, *, exclude=None):
        for document in sorted(self._documents.values(), key=lambda d: d.id):
            if (document.sha256 == sha256 and document.id != exclude and not document.is_material
                    and document.status == DocumentStatus.COMPLETED and document.duplicate_of is None):
                return copy.deepcopy(document)
        return None

    async def list_documents(self, *, symbol=None, status=None, doc_type=None, limit=50, offset=0):
        rows = [d for d in self._documents.values() if not d.is_material
                and (symbol is None or d.company_symbol == symbol)
                and (status is None or d.status == status)
                and (doc_type is None or d.doc_type == doc_type)]
        rows.sort(key=lambda d: d.id, reverse=True)
        return len(rows), [copy.deepcopy(d) for d in rows[offset:offset + limit]]

    async def material_of(self, owner):
        rows = [d for d in self._documents.values() if d.is_material and d.owner == owner]
        return [copy.deepcopy(d) for d in sorted(rows, key=lambda d: d.id, reverse=True)]

    async def expired_material(self, created_before):
        rows = [d for d in self._documents.values()
                if d.is_material and d.created_at is not None and d.created_at < created_before]
        return [copy.deepcopy(d) for d in sorted(rows, key=lambda d: d.id)]

    async def delete_document(self, document_id):
        if self._documents.pop(document_id, None) is None:
            return False
        self._chunks.pop(document_id, None)
        for stage in STAGES:
            self._stages.pop((document_id, stage), None)
        return True

    async def stages(self, document_id):
        return {
            stage: copy.deepcopy(self._stages.get((document_id, stage), StageRecord(stage=stage)))
            for stage in STAGES
        }

    async def save_stage(self, document_id, record):
        self._stages[(document_id, record.stage)] = copy.deepcopy(record)
        self._documents[document_id].updated_at = utcnow()

    @asynccontextmanager
    async def hold(self, document_id):
        if document_id in self._held:
            yield False
            return
        self._held.add(document_id)
        try:
            yield True
        finally:
            self._held.discard(document_id)

    async def start_attempt(self, document_id, now):
        document = self._documents[document_id]
        document.attempts += 1
        document.status, document.error = DocumentStatus.PROCESSING, None
        document.started_at = document.started_at or now
        document.updated_at = now
        return document.attempts

    async def open_documents(self):
        return sorted(d.id for d in self._documents.values() if d.status in ACTIVE)

    async def replace_chunks(self, document_id, chunks):
        self._chunks[document_id] = list(chunks)

    async def chunks(self, document_id):
        return list(self._chunks.get(document_id, []))

    async def ingestion_stats(self, since):
        documents = [d for d in self._documents.values() if d.doc_type != MATERIAL]
        by_status: dict[str, int] = {s.value: 0 for s in DocumentStatus}
        by_type: dict[str, int] = {}
        for document in documents:
            by_status[document.status.value] += 1
            by_type[document.doc_type] = by_type.get(document.doc_type, 0) + 1
        return {
            "total_documents": len(documents),
            "by_status": by_status,
            "by_type": by_type,
            "total_chunks": sum(d.chunk_count for d in documents
                                if d.status == DocumentStatus.COMPLETED and d.duplicate_of is None),
            "last_24h": {
                "documents_ingested": sum(
                    1 for d in documents
                    if d.status == DocumentStatus.COMPLETED and d.completed_at and d.completed_at >= since
                ),
                "news_articles": sum(1 for t in self._news_created.values() if t >= since),
            },
        }

    async def documents_by_id(self, document_ids):
        return {i: copy.deepcopy(self._documents[i]) for i in document_ids if i in self._documents}

    async def stages_of(self, document_ids):
        return {i: await self.stages(i) for i in document_ids}

    # bootstrap tasks
    async def create_bootstrap_task(self, task):
        if task.task_id in self._bootstrap_tasks:
            return False
        stored = copy.deepcopy(task)
        stored.created_at = stored.created_at or utcnow()
        stored.items.sort(key=lambda item: item.position)
        self._bootstrap_tasks[task.task_id] = stored
        return True

    async def get_bootstrap_task(self, task_id):
        task = self._bootstrap_tasks.get(task_id)
        return copy.deepcopy(task) if task else None

    async def set_bootstrap_state(self, task_id, status, *, error=None, now=None):
        task = self._bootstrap_tasks[task_id]
        now = now or utcnow()
        task.status, task.error = status, error
        if status == BootstrapState.RUNNING:
            task.started_at = task.started_at or now
        elif status in (BootstrapState.QUEUED, BootstrapState.FAILED):
            task.finished_at = now

    async def set_bootstrap_item(self, task_id, position, *, document_id=None, reason=None):
        for item in self._bootstrap_tasks[task_id].items:
            if item.position == position:
                item.document_id, item.reason = document_id, reason
                return
        raise KeyError(position)
