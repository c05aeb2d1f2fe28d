"""The Postgres adapter of IngestionRepository: schema `ingestion`, SQLAlchemy Core over
asyncpg, migrated by its own Alembic scripts at start-up. Each method is one transaction."""

from __future__ import annotations

import zlib
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from beacon_runtime.db import PostgresStore, asyncpg_url, check_schema
from beacon_runtime.errors import DependencyUnavailable
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.pool import NullPool

from beacon_ingestion.domain import (
    MATERIAL,
    STAGES,
    BootstrapItem,
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
    StageState,
)
from beacon_ingestion.repository import tables as t
from beacon_ingestion.repository.port import (
    CatalogueRefresh,
    IngestionRepository,
    UnknownCompany,
)

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "ingestion"
_BATCH = 1000

_COMPANY_FIELDS = ("symbol", "nse_symbol", "name", "sector", "industry", "market_cap_rank",
                   "isin", "bse_code", "website", "ir_page_url", "aliases", "legal_name",
                   "fiscal_year_end_month", "indices", "active")
_DOCUMENT_FIELDS = {c.name for c in t.documents.c}


class PostgresIngestionRepository(PostgresStore, IngestionRepository):
    def __init__(self, database_url: str, schema: str = SCHEMA, *, pool_size: int = 5,
                 migrate_on_start: bool = True) -> None:
        super().__init__(database_url, schema, migrations=MIGRATIONS, pool_size=pool_size,
                         migrate_on_start=migrate_on_start)
        self._lock_engine = None
        # Advisory locks are per database: the first key names the schema, the second the document.
        self._lock_space = zlib.crc32(schema.encode()) - 2**31

    async def upsert_companies(self, companies: list[Company]) -> CatalogueRefresh:
        result = CatalogueRefresh(total=len(companies))
        if not companies:
            return result
        async with self.transaction() as conn:
            symbols = [c.symbol for c in companies]
            existing = {row.symbol for row in await conn.execute(
                sa.select(t.companies.c.symbol).where(t.companies.c.symbol.in_(symbols)))}
            for company in companies:
                (result.updated if company.symbol in existing else result.added).append(company.symbol)
            values = [{name: getattr(c, name) for name in _COMPANY_FIELDS} for c in companies]
            stmt = insert(t.companies).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["symbol"],
                set_={name: stmt.excluded[name] for name in _COMPANY_FIELDS[1:]}
                | {"updated_at": sa.func.now()},
            )
            await conn.execute(stmt)
        return result

    async def companies_by_symbol(self, symbols):
        if not symbols:
            return {}
        async with self.transaction() as conn:
            rows = await conn.execute(sa.select(t.companies).where(t.companies.c.symbol.in_(list(symbols))))
            return {row.symbol: _company(row) for row in rows}

    async def count_companies(self) -> int:
        async with self.transaction() as conn:
            return (await conn.execute(
                sa.select(sa.func.count()).select_from(t.companies).where(t.companies.c.active)
            )).scalar_one()

    async def list_companies(self, *, sector=None, index=None, limit=50, offset=0):
        where = [t.companies.c.active]
        if sector:
            where.append(sa.func.lower(t.companies.c.sector) == sector.lower())
        if index:
            where.append(t.companies.c.indices.contains([index]))
        async with self.transaction() as conn:
            total = (await conn.execute(
                sa.select(sa.func.count()).select_from(t.companies).where(*where))).scalar_one()
            rows = await conn.execute(
                sa.select(t.companies).where(*where)
                .order_by(t.companies.c.market_cap_rank.asc().nulls_last(), t.companies.c.symbol)
                .limit(limit).offset(offset)
            )
            return total, [_company(row) for row in rows]

    async def get_company(self, symbol):
        async with self.transaction() as conn:
            row = (await conn.execute(
                sa.select(t.companies).where(t.companies.c.symbol == symbol))).first()
        return _company(row) if row else None

    async def _ids(self, conn, symbols: set[str]) -> dict[str, int]:
        rows = await conn.execute(
            sa.select(t.companies.c.symbol, t.companies.c.id).where(t.companies.c.symbol.in_(symbols)))
        ids = {row.symbol: row.id for row in rows}
        unknown = sorted(symbols - ids.keys())
        if unknown:
            raise UnknownCompany(unknown)
        return ids

    # ------------------------------------------------------------ company data
    async def upsert_fundamentals(self, rows):
        async with self.transaction() as conn:
            ids = await self._ids(conn, {r.symbol for r in rows})
            values = [{
                "company_id": ids[r.symbol], "period": r.period, "period_type": r.period_type,
                "period_end_date": r.period_end_date, "revenue": r.revenue,
                "net_income": r.net_income, "market_cap": r.market_cap, "eps": r.eps,
                "pe_ratio": r.pe_ratio, "roe": r.roe, "debt_to_equity": r.debt_to_equity,
            } for r in rows]
            for batch in _batches(_last_wins(values, ("company_id", "period"))):
                stmt = insert(t.fundamentals).values(batch)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=["company_id", "period"],
                    set_={c: stmt.excluded[c] for c in batch[0] if c not in ("company_id", "period")},
                ))
        return len(rows)

    async def list_fundamentals(self, symbol, *, period_type=None, limit=8):
        f, c = t.fundamentals, t.companies
        query = sa.select(f).join(c, c.c.id == f.c.company_id).where(c.c.symbol == symbol)
        if period_type:
            query = query.where(f.c.period_type == period_type)
        query = query.order_by(f.c.period_end_date.desc(), (f.c.period_type == "quarterly").desc()).limit(limit)
        async with self.transaction() as conn:
            rows = await conn.execute(query)
            return [Fundamentals(symbol=symbol, **{k: v for k, v in row._mapping.items()
                                                  if k != "company_id"}) for row in rows]

    async def upsert_prices(self, rows):
        async with self.transaction() as conn:
            ids = await self._ids(conn, {r.symbol for r in rows})
            values = [{"company_id": ids[r.symbol], "date": r.date, "open": r.open, "high": r.high,
                       "low": r.low, "close": r.close, "volume": r.volume} for r in rows]
            for batch in _batches(_last_wins(values, ("company_id", "date"))):
                stmt = insert(t.prices).values(batch)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=["company_id", "date"],
                    set_={k: stmt.excluded[k] for k in ("open", "high", "low", "close", "volume")},
                ))
        return len(rows)

    async def list_prices(self, symbol, *, date_from=None, date_to=None, limit=5000):
        p, c = t.prices, t.companies
        query = sa.select(p).join(c, c.c.id == p.c.company_id).where(c.c.symbol == symbol)
        if date_from:
            query = query.where(p.c.date >= date_from)
        if date_to:
            query = query.where(p.c.date <= date_to)
        async with self.transaction() as conn:
            rows = await conn.execute(query.order_by(p.c.date.desc()).limit(limit))
            return [Price(symbol=symbol, **{k: v for k, v in row._mapping.items() if k != "company_id"})
                    for row in rows]

    async def latest_price(self, symbol):
        rows = await self.list_prices(symbol, limit=2)
        if not rows:
            return None
        return rows[0], rows[1].close if len(rows) > 1 else None

    async def upsert_news(self, rows):
        async with self.transaction() as conn:
            ids = await self._ids(conn, {r.symbol for r in rows})
            values = [{"company_id": ids[r.symbol], "title": r.title, "source": r.source, "url": r.url,
                       "summary": r.summary, "sentiment": r.sentiment,
                       "sentiment_score": r.sentiment_score, "published_at": r.published_at}
                      for r in rows]
            for batch in _batches(_last_wins(values, ("company_id", "url"))):
                stmt = insert(t.news).values(batch)
                await conn.execute(stmt.on_conflict_do_update(
                    constraint="news_company_url",
                    set_={k: stmt.excluded[k] for k in batch[0] if k not in ("company_id", "url")},
                ))
        return len(rows)

    async def list_news(self, symbol, *, limit=10):
        n, c = t.news, t.companies
        async with self.transaction() as conn:
            rows = await conn.execute(
                sa.select(n).join(c, c.c.id == n.c.company_id).where(c.c.symbol == symbol)
                .order_by(n.c.published_at.desc(), n.c.id.desc()).limit(limit))
            return [NewsItem(symbol=symbol, **{k: v for k, v in row._mapping.items()
                                               if k not in ("company_id", "created_at")}) for row in rows]

    # ------------------------------------------------------------ documents
    async def create_document(self, new: NewDocument) -> Document:
        values = {name: getattr(new, name) for name in NewDocument.__dataclass_fields__}
        async with self.transaction() as conn:
            row = (await conn.execute(
                t.documents.insert().values(**values, status=DocumentStatus.PENDING.value)
                .returning(*t.documents.c))).one()
        return _document(row)

    async def get_document(self, document_id):
        async with self.transaction() as conn:
            row = (await conn.execute(
                sa.select(t.documents).where(t.documents.c.id == document_id))).first()
        return _document(row) if row else None

    async def update_document(self, document_id, **changes):
        unknown = set(changes) - _DOCUMENT_FIELDS
        if unknown:
            raise AttributeError(", ".join(sorted(unknown)))
        values = {k: (v.value if isinstance(v, DocumentStatus) else v) for k, v in changes.items()}
        async with self.transaction() as conn:
            await conn.execute(t.documents.update().where(t.documents.c.id == document_id)
                               .values(**values, updated_at=sa.func.now()))

    async def find_live_by_source(self, source_url, company_symbol, doc_type, fiscal_period):
        d = t.documents
        query = sa.select(d).where(
            d.c.source_url == source_url, d.c.doc_type == doc_type,
            d.c.company_symbol.is_not_distinct_from(company_symbol),
            d.c.fiscal_period.is_not_distinct_from(fiscal_period),
            d.c.status != DocumentStatus.FAILED.value,
        ).order_by(d.c.id).limit(1)
        async with self.transaction() as conn:
            row = (await conn.execute(query)).first()
        return _document(row) if row else None

    async def find_completed_by_sha(self, sha256, *, exclude=None):
        d = t.documents
        query = sa.select(d).where(d.c.sha256 == sha256, d.c.status == DocumentStatus.COMPLETED.value,
                                   d.c.duplicate_of.is_(None), d.c.doc_type != MATERIAL)
        if exclude is not None:
            query = query.where(d.c.id != exclude)
        async with self.transaction() as conn:
            row = (await conn.execute(query.order_by(d.c.id).limit(1))).first()
        return _document(row) if row else None

    async def list_documents(self, *, symbol=None, status=None, doc_type=None, limit=50, offset=0):
        d = t.documents
        where = [d.c.doc_type != MATERIAL]
        if symbol is not None:
            where.append(d.c.company_symbol == symbol)
        if status is not None:
            where.append(d.c.status == str(status))
        if doc_type is not None:
            where.append(d.c.doc_type == doc_type)
        async with self.transaction() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(d).where(*where))).scalar_one()
            rows = await conn.execute(
                sa.select(d).where(*where).order_by(d.c.id.desc()).limit(limit).offset(offset))
            return total, [_document(row) for row in rows]

    async def material_of(self, owner):
        d = t.documents
        async with self.transaction(write=False) as conn:
            rows = await conn.execute(sa.select(d).where(d.c.doc_type == MATERIAL, d.c.owner == owner)
                                      .order_by(d.c.id.desc()))
            return [_document(row) for row in rows]

    async def expired_material(self, created_before):
        d = t.documents
        async with self.transaction(write=False) as conn:
            rows = await conn.execute(sa.select(d).where(
                d.c.doc_type == MATERIAL, d.c.created_at < created_before).order_by(d.c.id))
            return [_document(row) for row in rows]

    async def delete_document(self, document_id):
        d = t.documents
        async with self.transaction() as conn:  # stages and chunks go with it (ON DELETE CASCADE)
            deleted = await conn.execute(d.delete().where(d.c.id == document_id).returning(d.c.id))
            return deleted.first() is not None

    async def stages(self, document_id):
        return (await self.stages_of([document_id]))[document_id]

    async def stages_of(self, document_ids):
        s = t.document_stages
        saved: dict[int, dict[str, Any]] = {i: {} for i in document_ids}
        if document_ids:
            async with self.transaction() as conn:
                rows = await conn.execute(sa.select(s).where(s.c.document_id.in_(list(document_ids))))
                for row in rows:
                    saved[row.document_id][row.stage] = row
        return {i: {stage: _stage(stage, rows.get(stage)) for stage in STAGES} for i, rows in saved.items()}

    async def documents_by_id(self, document_ids):
        if not document_ids:
            return {}
        async with self.transaction() as conn:
            rows = await conn.execute(sa.select(t.documents).where(t.documents.c.id.in_(list(document_ids))))
            return {row.id: _document(row) for row in rows}

    async def create_bootstrap_task(self, task):
        b, i = t.bootstrap_tasks, t.bootstrap_items
        async with self.transaction() as conn:
            created = await conn.execute(insert(b).values(
                task_id=task.task_id, owner=task.owner, companies=task.companies,
                doc_types=task.doc_types, years=task.years, status=task.status.value,
                error=task.error, started_at=task.started_at, finished_at=task.finished_at,
                **({"created_at": task.created_at} if task.created_at else {}),
            ).on_conflict_do_nothing(index_elements=["task_id"]).returning(b.c.task_id))
            if created.first() is None:
                return False
            if task.items:
                await conn.execute(insert(i).values([
                    {"task_id": task.task_id, "position": item.position, "symbol": item.symbol,
                     "doc_type": item.doc_type, "fiscal_period": item.fiscal_period,
                     "source_url": item.source_url, "document_id": item.document_id,
                     "reason": item.reason} for item in task.items]))
        return True

    async def get_bootstrap_task(self, task_id):
        b, i = t.bootstrap_tasks, t.bootstrap_items
        async with self.transaction() as conn:
            row = (await conn.execute(sa.select(b).where(b.c.task_id == task_id))).first()
            if row is None:
                return None
            items = await conn.execute(sa.select(i).where(i.c.task_id == task_id).order_by(i.c.position))
            m = dict(row._mapping)
            m["status"] = BootstrapState(m["status"])
            m["items"] = [BootstrapItem(**{k: v for k, v in dict(r._mapping).items() if k != "task_id"})
                          for r in items]
        return BootstrapTask(**m)

    async def set_bootstrap_state(self, task_id, status, *, error=None, now=None):
        b = t.bootstrap_tasks
        stamp = now or sa.func.now()
        values: dict[str, Any] = {"status": status.value, "error": error}
        if status == BootstrapState.RUNNING:
            values["started_at"] = sa.func.coalesce(b.c.started_at, stamp)
        elif status in (BootstrapState.QUEUED, BootstrapState.FAILED):
            values["finished_at"] = stamp
        async with self.transaction() as conn:
            await conn.execute(b.update().where(b.c.task_id == task_id).values(**values))

    async def set_bootstrap_item(self, task_id, position, *, document_id=None, reason=None):
        i = t.bootstrap_items
        async with self.transaction() as conn:
            updated = await conn.execute(
                i.update().where(i.c.task_id == task_id, i.c.position == position)
                .values(document_id=document_id, reason=reason).returning(i.c.position))
            if updated.first() is None:
                raise KeyError(position)

    async def save_stage(self, document_id, record):
        values = {"document_id": document_id, "stage": record.stage, "state": record.state.value,
                  "attempts": record.attempts, "started_at": record.started_at,
                  "finished_at": record.finished_at,
                  "detail": record.detail, "error": record.error}
        stmt = insert(t.document_stages).values(values)
        async with self.transaction() as conn:
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["document_id", "stage"],
                set_={k: stmt.excluded[k] for k in values if k not in ("document_id", "stage")}))
            await conn.execute(t.documents.update().where(t.documents.c.id == document_id)
                               .values(updated_at=sa.func.now()))

    @asynccontextmanager
    async def hold(self, document_id):
        # A session advisory lock on a connection of its own (no pool): it ends when the
        # connection closes, so also when the holding process dies.
        async with self._locks() as conn:
            held = (await conn.execute(
                sa.select(sa.func.pg_try_advisory_lock(*self.lock_key(document_id))))).scalar_one()
            await conn.commit()
            yield bool(held)

    def lock_key(self, document_id: int) -> tuple[int, int]:
        return self._lock_space, (document_id % 2**32) - 2**31

    @asynccontextmanager
    async def _locks(self):
        import sqlalchemy.exc
        from sqlalchemy.ext.asyncio import create_async_engine

        if self._lock_engine is None:
            self._lock_engine = create_async_engine(
                asyncpg_url(self._url), poolclass=NullPool,
                connect_args={"timeout": 5, "command_timeout": 30})
        try:
            async with self._lock_engine.connect() as conn:
                yield conn
        except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            raise DependencyUnavailable(f"postgres: {exc.__class__.__name__}") from exc

    async def close(self) -> None:
        if self._lock_engine is not None:
            await self._lock_engine.dispose()
            self._lock_engine = None
        await super().close()

    async def start_attempt(self, document_id, now):
        d = t.documents
        async with self.transaction() as conn:
            return (await conn.execute(
                d.update().where(d.c.id == document_id)
                .values(attempts=d.c.attempts + 1, status=DocumentStatus.PROCESSING.value, error=None,
                        started_at=sa.func.coalesce(d.c.started_at, now), updated_at=sa.func.now())
                .returning(d.c.attempts))).scalar_one()

    async def open_documents(self):
        d = t.documents
        async with self.transaction(write=False) as conn:
            rows = await conn.execute(sa.select(d.c.id).where(
                d.c.status.in_([DocumentStatus.PENDING.value, DocumentStatus.PROCESSING.value]),
            ).order_by(d.c.id))
            return [row.id for row in rows]

    async def replace_chunks(self, document_id, chunks):
        async with self.transaction() as conn:
            await conn.execute(t.chunks.delete().where(t.chunks.c.document_id == document_id))
            values = [{"document_id": document_id, "chunk_index": c.chunk_index, "point_id": c.id,
                       "page_start": c.page_start, "page_end": c.page_end, "section": c.section,
                       "text": c.text} for c in chunks]
            for batch in _batches(values):
                await conn.execute(t.chunks.insert(), batch)

    async def chunks(self, document_id):
        c = t.chunks
        async with self.transaction() as conn:
            rows = await conn.execute(
                sa.select(c).where(c.c.document_id == document_id).order_by(c.c.chunk_index))
            return [Chunk(id=row.point_id, document_id=row.document_id, chunk_index=row.chunk_index,
                          page_start=row.page_start, page_end=row.page_end, section=row.section,
                          text=row.text) for row in rows]

    async def chunks_at(self, document_id, indexes):
        if not indexes:
            return []
        c = t.chunks
        async with self.transaction() as conn:
            rows = await conn.execute(sa.select(c).where(
                c.c.document_id == document_id, c.c.chunk_index.in_(sorted(indexes))).order_by(c.c.chunk_index))
            return [Chunk(id=row.point_id, document_id=row.document_id, chunk_index=row.chunk_index,
                          page_start=row.page_start, page_end=row.page_end, section=row.section,
                          text=row.text) for row in rows]

    async def ingestion_stats(self, since):
        d = t.documents
        completed = d.c.status == DocumentStatus.COMPLETED.value
        research = d.c.doc_type != MATERIAL
        async with self.transaction() as conn:
            by_status = {s.value: 0 for s in DocumentStatus}
            for row in await conn.execute(
                    sa.select(d.c.status, sa.func.count()).where(research).group_by(d.c.status)):
                by_status[row[0]] = row[1]
            by_type = {row[0]: row[1] for row in await conn.execute(
                sa.select(d.c.doc_type, sa.func.count()).where(research)
                .group_by(d.c.doc_type).order_by(d.c.doc_type))}
            chunks_total = (await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(d.c.chunk_count), 0))
                                               .where(completed, research, d.c.duplicate_of.is_(None)))).scalar_one()
            ingested = (await conn.execute(sa.select(sa.func.count()).select_from(d)
                                           .where(completed, research, d.c.completed_at >= since))).scalar_one()
            news_count = (await conn.execute(sa.select(sa.func.count()).select_from(t.news)
                                             .where(t.news.c.created_at >= since))).scalar_one()
        return {
            "total_documents": sum(by_status.values()),
            "by_status": by_status,
            "by_type": by_type,
            "total_chunks": int(chunks_total),
            "last_24h": {"documents_ingested": ingested, "news_articles": news_count},
        }


async def drop_schema(database_url: str, schema: str) -> None:
    """Drop a scratch schema (the migration command's)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(asyncpg_url(database_url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{check_schema(schema)}" CASCADE'))
    finally:
        await engine.dispose()


def _batches(values: list[dict[str, Any]], size: int = _BATCH):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _last_wins(values: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """ON CONFLICT cannot touch one row twice in a statement: keep each key's last row."""
    return list({tuple(v[k] for k in key): v for v in values}.values())


def _company(row) -> Company:
    m = row._mapping
    return Company(id=m["id"], aliases=list(m["aliases"] or []), indices=list(m["indices"] or []),
                   **{name: m[name] for name in _COMPANY_FIELDS if name not in ("aliases", "indices")})


def _stage(stage: str, row) -> StageRecord:
    if row is None:
        return StageRecord(stage=stage)
    return StageRecord(stage=stage, state=StageState(row.state), attempts=row.attempts,
                       started_at=row.started_at, finished_at=row.finished_at,
                       detail=row.detail, error=row.error)


def _document(row) -> Document:
    m = dict(row._mapping)
    m["status"] = DocumentStatus(m["status"])
    return Document(**m)
