"""One behavioural contract for both IngestionRepository adapters: the in-memory twin and
Postgres (the real server at DATABASE_URL, in a schema made for this test session and dropped
after it; tables are emptied before each test)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from beacon_ingestion.domain import (
    BootstrapItem,
    BootstrapState,
    BootstrapTask,
    Chunk,
    Company,
    DocumentStatus,
    Fundamentals,
    NewDocument,
    NewsItem,
    Price,
    StageRecord,
    StageState,
)
from beacon_ingestion.repository.memory import InMemoryIngestionRepository
from beacon_ingestion.repository.port import IngestionRepository, UnknownCompany

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_session_schema() -> Iterator[str]:
    from beacon_ingestion.repository.postgres import MIGRATIONS
    from beacon_runtime.db import migrate
    from pgtools_ingestion import drop_schema, in_thread

    schema = "t_ingest_" + uuid.uuid4().hex[:10]
    # Requested from inside a running event loop: Alembic's asyncio.run needs its own thread.
    in_thread(migrate, DATABASE_URL, MIGRATIONS, schema)
    yield schema
    in_thread(asyncio.run, drop_schema(DATABASE_URL, schema))


@pytest.fixture
async def repo(backend, request) -> AsyncIterator[IngestionRepository]:
    if backend == "memory":
        yield InMemoryIngestionRepository()
        return
    from beacon_ingestion.repository.postgres import PostgresIngestionRepository
    from pgtools_ingestion import truncate_all

    schema = request.getfixturevalue("pg_session_schema")
    await truncate_all(DATABASE_URL, schema)
    repository = PostgresIngestionRepository(DATABASE_URL, schema)
    await repository.start(migrate=False)
    try:
        yield repository
    finally:
        await repository.close()


def company(nse: str, sector: str = "Banking", rank: int | None = None, name: str | None = None) -> Company:
    return Company(symbol=f"{nse}.NS", name=name or f"{nse.title()} Ltd.", nse_symbol=nse,
                   sector=sector, market_cap_rank=rank, isin="INE002A01018", aliases=[nse])


async def seed(repo: IngestionRepository) -> None:
    await repo.upsert_companies([
        company("RELIANCE", "Oil Gas & Consumable Fuels", 1),
        company("HDFCBANK", "Financial Services", 2),
        company("TCS", "Information Technology", None),
        company("INFY", "Information Technology", 4),
    ])


# ---------------------------------------------------------------- companies


async def test_upsert_adds_and_updates_and_leaves_the_rest_alone(repo):
    first = await repo.upsert_companies([company("AAA"), company("BBB")])
    assert sorted(first.added) == ["AAA.NS", "BBB.NS"] and first.updated == []
    second = await repo.upsert_companies([company("BBB", sector="Energy"), company("CCC")])
    assert second.added == ["CCC.NS"] and second.updated == ["BBB.NS"] and second.deactivated == []
    total, listed = await repo.list_companies(limit=10)
    assert total == 3 and {c.symbol for c in listed} == {"AAA.NS", "BBB.NS", "CCC.NS"}
    bbb = await repo.get_company("BBB.NS")
    assert bbb.sector == "Energy" and bbb.id is not None
    # Retiring is `active: false`; the row (and its id, which documents refer to) stays.
    aaa = await repo.get_company("AAA.NS")
    aaa.active = False
    await repo.upsert_companies([aaa])
    total, listed = await repo.list_companies(limit=10)
    assert total == 2 and "AAA.NS" not in {c.symbol for c in listed}
    assert await repo.count_companies() == 2
    gone = await repo.get_company("AAA.NS")
    assert gone is not None and gone.active is False and gone.id == aaa.id
    found = await repo.companies_by_symbol(["AAA.NS", "CCC.NS", "NOPE.NS"])
    assert set(found) == {"AAA.NS", "CCC.NS"} and found["AAA.NS"].active is False
    assert await repo.companies_by_symbol([]) == {}


async def test_companies_of_any_exchange_with_their_fiscal_calendar_and_indices(repo):
    apple = Company(symbol="AAPL", name="Apple Inc.", nse_symbol=None, isin="US0378331005",
                    legal_name="Apple Inc.", aliases=["Apple", "iPhone maker"], fiscal_year_end_month=9,
                    indices=["NASDAQ100", "S&P500"])
    await repo.upsert_companies([apple, company("RELIANCE"), Company(
        symbol="500325.BO", name="Reliance Industries Ltd.", nse_symbol=None, indices=["SENSEX"])])
    stored = await repo.get_company("AAPL")
    assert (stored.nse_symbol, stored.legal_name, stored.aliases, stored.fiscal_year_end_month,
            stored.indices, stored.active) == (None, "Apple Inc.", ["Apple", "iPhone maker"], 9,
                                               ["NASDAQ100", "S&P500"], True)
    assert (await repo.get_company("RELIANCE.NS")).fiscal_year_end_month == 3
    total, rows = await repo.list_companies(index="NASDAQ100", limit=10)
    assert total == 1 and [c.symbol for c in rows] == ["AAPL"]
    total, rows = await repo.list_companies(index="SENSEX", limit=10)
    assert [c.symbol for c in rows] == ["500325.BO"]
    assert (await repo.list_companies(index="NIFTY50", limit=10))[0] == 0


async def test_list_filters_by_sector_and_orders_by_rank(repo):
    await seed(repo)
    total, rows = await repo.list_companies(sector="information technology", limit=10)
    assert total == 2 and [c.symbol for c in rows] == ["INFY.NS", "TCS.NS"]  # unranked last
    total, rows = await repo.list_companies(limit=2)
    assert total == 4 and [c.symbol for c in rows] == ["RELIANCE.NS", "HDFCBANK.NS"]
    _, rows = await repo.list_companies(limit=2, offset=2)
    assert [c.symbol for c in rows] == ["INFY.NS", "TCS.NS"]
    detail = await repo.get_company("RELIANCE.NS")
    assert detail.nse_symbol == "RELIANCE" and detail.industry is None and detail.aliases == ["RELIANCE"]
    assert await repo.get_company("NOPE.NS") is None


# ---------------------------------------------------------------- company data


def fundamentals(symbol: str, period: str, ptype: str, end: date, revenue: int) -> Fundamentals:
    return Fundamentals(symbol=symbol, period=period, period_type=ptype, period_end_date=end,
                        revenue=Decimal(revenue), net_income=Decimal(19101000000000), eps=141.56,
                        pe_ratio=25.3, roe=0.089, debt_to_equity=0.42,
                        market_cap=Decimal(19500000000000000))


async def test_fundamentals_upsert_order_and_exact_money(repo):
    await seed(repo)
    rows = [
        fundamentals("RELIANCE.NS", "Q1FY25", "quarterly", date(2024, 6, 30), 1),
        fundamentals("RELIANCE.NS", "Q2FY25", "quarterly", date(2024, 9, 30), 258027000000000),
        fundamentals("RELIANCE.NS", "FY2024", "annual", date(2024, 3, 31), 3),
        fundamentals("RELIANCE.NS", "Q4FY24", "quarterly", date(2024, 3, 31), 4),
    ]
    assert await repo.upsert_fundamentals(rows) == 4
    listed = await repo.list_fundamentals("RELIANCE.NS", limit=10)
    assert [f.period for f in listed] == ["Q2FY25", "Q1FY25", "Q4FY24", "FY2024"]
    assert listed[0].market_cap == Decimal(19500000000000000)
    assert listed[0].revenue == Decimal(258027000000000)
    annual = await repo.list_fundamentals("RELIANCE.NS", period_type="annual")
    assert [f.period for f in annual] == ["FY2024"]
    # Re-import replaces the period, never duplicates it.
    await repo.upsert_fundamentals([fundamentals("RELIANCE.NS", "FY2024", "annual", date(2024, 3, 31), 99)])
    annual = await repo.list_fundamentals("RELIANCE.NS", period_type="annual")
    assert len(annual) == 1 and annual[0].revenue == 99
    assert len(await repo.list_fundamentals("RELIANCE.NS", limit=2)) == 2


async def test_unknown_company_writes_nothing(repo):
    await seed(repo)
    rows = [fundamentals("TCS.NS", "FY2024", "annual", date(2024, 3, 31), 1),
            fundamentals("NOPE.NS", "FY2024", "annual", date(2024, 3, 31), 1)]
    with pytest.raises(UnknownCompany) as caught:
        await repo.upsert_fundamentals(rows)
    assert caught.value.symbols == ["NOPE.NS"]
    assert await repo.list_fundamentals("TCS.NS") == []


async def test_prices_range_latest_and_previous_close(repo):
    await seed(repo)
    days = [date(2024, 11, d) for d in (20, 21, 22, 25)]
    await repo.upsert_prices([Price("TCS.NS", d, 100 + i, 110 + i, 90 + i, 105.0 + i, 1000 * i)
                              for i, d in enumerate(days)])
    ranged = await repo.list_prices("TCS.NS", date_from=date(2024, 11, 21), date_to=date(2024, 11, 22))
    assert [p.date for p in ranged] == [date(2024, 11, 22), date(2024, 11, 21)]
    latest, previous = await repo.latest_price("TCS.NS")
    assert latest.date == date(2024, 11, 25) and latest.close == 108.0 and previous == 107.0
    assert await repo.latest_price("INFY.NS") is None
    await repo.upsert_prices([Price("TCS.NS", date(2024, 11, 25), 1, 2, 1, 2, 5)])
    assert len(await repo.list_prices("TCS.NS")) == 4


async def test_news_keyed_by_url_newest_first(repo):
    await seed(repo)
    t0 = datetime(2024, 11, 25, 9, tzinfo=UTC)
    items = [NewsItem("INFY.NS", f"Headline {i}", f"https://example.com/{i}", t0 + timedelta(hours=i),
                      "Wire", "Summary", "positive", 0.5) for i in range(3)]
    await repo.upsert_news(items)
    await repo.upsert_news([NewsItem("INFY.NS", "Headline 1 (updated)", "https://example.com/1",
                                     t0 + timedelta(hours=1), "Wire", None, "neutral", 0.0)])
    news = await repo.list_news("INFY.NS", limit=10)
    assert [n.title for n in news] == ["Headline 2", "Headline 1 (updated)", "Headline 0"]
    assert len({n.id for n in news}) == 3 and all(isinstance(n.id, int) for n in news)
    assert news[0].published_at == t0 + timedelta(hours=2)
    assert len(await repo.list_news("INFY.NS", limit=1)) == 1


# ---------------------------------------------------------------- documents


def new_doc(**overrides) -> NewDocument:
    values = dict(doc_type="annual_report", title="Annual Report FY2024", company_symbol="TCS.NS",
                  fiscal_period="FY2024", document_date=date(2024, 5, 15),
                  source_url="https://example.com/ar.pdf")
    values.update(overrides)
    return NewDocument(**values)


async def test_document_lifecycle_fields(repo):
    await seed(repo)
    tcs = await repo.get_company("TCS.NS")
    created = await repo.create_document(new_doc(company_id=tcs.id, customer_id="cust-1"))
    assert created.id > 0 and created.status == DocumentStatus.PENDING and created.chunk_count == 0
    assert created.created_at is not None and created.customer_id == "cust-1"
    await repo.update_document(created.id, status=DocumentStatus.COMPLETED, chunk_count=12,
                               page_count=3, sha256="ab" * 32, file_size_bytes=1234)
    loaded = await repo.get_document(created.id)
    assert loaded.status == DocumentStatus.COMPLETED and loaded.chunk_count == 12
    assert loaded.page_count == 3 and loaded.company_id == tcs.id and loaded.sha256 == "ab" * 32
    assert await repo.get_document(created.id + 1000) is None


async def test_find_live_by_source_ignores_failed(repo):
    first = await repo.create_document(new_doc())
    found = await repo.find_live_by_source("https://example.com/ar.pdf", "TCS.NS", "annual_report", "FY2024")
    assert found.id == first.id
    assert await repo.find_live_by_source("https://example.com/ar.pdf", "TCS.NS", "annual_report", "FY2023") is None
    await repo.update_document(first.id, status=DocumentStatus.FAILED)
    assert await repo.find_live_by_source("https://example.com/ar.pdf", "TCS.NS", "annual_report", "FY2024") is None
    no_company = await repo.create_document(new_doc(company_symbol=None, fiscal_period=None))
    assert (await repo.find_live_by_source("https://example.com/ar.pdf", None, "annual_report", None)).id == no_company.id


async def test_find_completed_by_sha_skips_duplicates_and_excluded(repo):
    a = await repo.create_document(new_doc(sha256="f" * 64))
    b = await repo.create_document(new_doc(sha256="f" * 64))
    assert await repo.find_completed_by_sha("f" * 64) is None  # none completed yet
    await repo.update_document(b.id, status=DocumentStatus.COMPLETED, duplicate_of=a.id)
    assert await repo.find_completed_by_sha("f" * 64) is None
    await repo.update_document(a.id, status=DocumentStatus.COMPLETED)
    assert (await repo.find_completed_by_sha("f" * 64)).id == a.id
    assert await repo.find_completed_by_sha("f" * 64, exclude=a.id) is None


async def test_list_documents_filters_and_total(repo):
    for i in range(3):
        await repo.create_document(new_doc(doc_type="annual_report" if i else "quarterly_result"))
    await repo.create_document(new_doc(company_symbol="INFY.NS"))
    total, rows = await repo.list_documents(symbol="TCS.NS", limit=10)
    assert total == 3 and [d.id for d in rows] == sorted((d.id for d in rows), reverse=True)
    total, rows = await repo.list_documents(doc_type="quarterly_result")
    assert total == 1
    await repo.update_document(rows[0].id, status=DocumentStatus.FAILED)
    total, _ = await repo.list_documents(status="failed")
    assert total == 1
    total, rows = await repo.list_documents(limit=1, offset=1)
    assert total == 4 and len(rows) == 1


async def test_stages_default_pending_and_round_trip(repo):
    doc = await repo.create_document(new_doc())
    stages = await repo.stages(doc.id)
    assert list(stages) == ["download", "parse", "chunk", "embed", "index"]
    assert all(s.state == StageState.PENDING and s.attempts == 0 for s in stages.values())
    now = datetime(2024, 11, 25, 10, tzinfo=UTC)
    await repo.save_stage(doc.id, StageRecord("parse", StageState.FAILED, attempts=2, started_at=now,
                                              error="boom", detail="page 3"))
    await repo.save_stage(doc.id, StageRecord("download", StageState.COMPLETED, 1, now, now))
    stages = await repo.stages(doc.id)
    assert stages["parse"].state == StageState.FAILED and stages["parse"].attempts == 2
    assert stages["parse"].error == "boom" and stages["parse"].started_at == now
    assert stages["download"].finished_at == now and stages["chunk"].state == StageState.PENDING


async def test_a_document_is_held_by_one_run_at_a_time(repo):
    first, second = await repo.create_document(new_doc()), await repo.create_document(new_doc())
    async with repo.hold(first.id) as held:
        assert held
        async with repo.hold(first.id) as again:
            assert not again
        async with repo.hold(second.id) as other:
            assert other  # holds are per document
    async with repo.hold(first.id) as after:
        assert after  # released with its context


async def test_a_run_counts_its_attempts_and_marks_the_document_processing(repo):
    doc = await repo.create_document(new_doc())
    first = datetime(2024, 11, 25, 10, tzinfo=UTC)
    assert await repo.start_attempt(doc.id, first) == 1
    await repo.update_document(doc.id, error="embed: timeout")
    assert await repo.start_attempt(doc.id, first + timedelta(minutes=1)) == 2
    stored = await repo.get_document(doc.id)
    assert stored.status == DocumentStatus.PROCESSING and stored.attempts == 2
    assert stored.started_at == first and stored.error is None


async def test_open_documents_are_pending_or_processing(repo):
    pending, running, done, failed = [await repo.create_document(new_doc()) for _ in range(4)]
    await repo.start_attempt(running.id, datetime.now(UTC))
    await repo.update_document(done.id, status=DocumentStatus.COMPLETED)
    await repo.update_document(failed.id, status=DocumentStatus.FAILED)
    assert await repo.open_documents() == [pending.id, running.id]


async def test_chunks_replace(repo):
    doc = await repo.create_document(new_doc())
    chunks = [Chunk(str(uuid.uuid4()), doc.id, i, i + 1, i + 2, "Highlights", f"text {i}") for i in range(3)]
    await repo.replace_chunks(doc.id, chunks)
    await repo.replace_chunks(doc.id, chunks[:2])
    assert await repo.chunks(doc.id) == chunks[:2]


async def test_chunks_at_reads_the_chunks_at_the_places_asked(repo):
    doc = await repo.create_document(new_doc())
    other = await repo.create_document(new_doc())
    chunks = [Chunk(str(uuid.uuid4()), doc.id, i, i + 1, i + 1, None, f"text {i}") for i in range(5)]
    await repo.replace_chunks(doc.id, chunks)
    await repo.replace_chunks(other.id, [Chunk(str(uuid.uuid4()), other.id, 1, 1, 1, None, "other")])
    assert await repo.chunks_at(doc.id, {1, 3, 9}) == [chunks[1], chunks[3]]
    assert await repo.chunks_at(doc.id, set()) == []


async def test_ingestion_stats(repo):
    await seed(repo)
    since = datetime.now(UTC) - timedelta(hours=24)
    a = await repo.create_document(new_doc())
    b = await repo.create_document(new_doc(doc_type="quarterly_result"))
    await repo.create_document(new_doc())
    await repo.update_document(a.id, status=DocumentStatus.COMPLETED, chunk_count=10,
                               completed_at=datetime.now(UTC))
    await repo.update_document(b.id, status=DocumentStatus.FAILED)
    await repo.upsert_news([NewsItem("TCS.NS", "t", "https://e.com/x", datetime.now(UTC))])
    stats = await repo.ingestion_stats(since)
    assert stats["total_documents"] == 3
    assert stats["by_status"] == {"pending": 1, "processing": 0, "completed": 1, "failed": 1}
    assert stats["by_type"] == {"annual_report": 2, "quarterly_result": 1}
    assert stats["total_chunks"] == 10
    assert stats["last_24h"] == {"documents_ingested": 1, "news_articles": 1}


# ---------------------------------------------------------------- customer material


def material(owner: str, **overrides) -> NewDocument:
    values = dict(doc_type="report_material", title="RFP", company_symbol=None, fiscal_period=None,
                  document_date=None, source_url=None, owner=owner, customer_id="acme",
                  sha256="e" * 64, content_type="text/plain")
    values.update(overrides)
    return NewDocument(**values)


async def test_material_is_its_owners_only_and_never_research(repo):
    research = await repo.create_document(new_doc(sha256="e" * 64))
    await repo.update_document(research.id, status=DocumentStatus.COMPLETED, chunk_count=4)
    mine = await repo.create_document(material("key:1"))
    offer = await repo.create_document(material("key:1", customer_id=None))
    theirs = await repo.create_document(material("key:2"))
    for document in (mine, offer, theirs):
        await repo.update_document(document.id, status=DocumentStatus.COMPLETED, chunk_count=7,
                                   completed_at=datetime.now(UTC))
    assert [d.id for d in await repo.material_of("key:1")] == [offer.id, mine.id]
    assert [d.id for d in await repo.material_of("key:2")] == [theirs.id]
    assert await repo.material_of("key:3") == []
    total, rows = await repo.list_documents()
    assert total == 1 and [d.id for d in rows] == [research.id]
    # Research deduplication never lands on material with the same bytes, and vice versa.
    assert (await repo.find_completed_by_sha("e" * 64)).id == research.id
    await repo.update_document(research.id, status=DocumentStatus.FAILED)
    assert await repo.find_completed_by_sha("e" * 64) is None
    stats = await repo.ingestion_stats(datetime.now(UTC) - timedelta(hours=1))
    assert stats["total_documents"] == 1 and stats["total_chunks"] == 0
    assert "report_material" not in stats["by_type"]
    assert stats["last_24h"]["documents_ingested"] == 0


async def test_material_expiry_and_deletion(repo):
    old = await repo.create_document(material("key:1"))
    new = await repo.create_document(material("key:2"))
    await repo.update_document(old.id, created_at=datetime.now(UTC) - timedelta(days=40))
    await repo.save_stage(old.id, StageRecord("parse", StageState.COMPLETED, 1))
    await repo.replace_chunks(old.id, [Chunk(str(uuid.uuid4()), old.id, 0, 1, 1, None, "x")])
    cut_off = datetime.now(UTC) - timedelta(days=30)
    assert [d.id for d in await repo.expired_material(cut_off)] == [old.id]
    assert await repo.delete_document(old.id) is True
    assert await repo.get_document(old.id) is None and await repo.chunks(old.id) == []
    assert (await repo.stages(old.id))["parse"].state == StageState.PENDING
    assert await repo.delete_document(old.id) is False
    assert await repo.expired_material(cut_off) == []
    assert (await repo.get_document(new.id)) is not None


# ---------------------------------------------------------------- bootstrap tasks


def bootstrap_task(task_id: str = "bootstrap-1") -> BootstrapTask:
    return BootstrapTask(task_id=task_id, owner="admin-1", companies=["TCS.NS"],
                         doc_types=["annual_report"], years=[2024, 2023], items=[
                             BootstrapItem(1, "TCS.NS", "annual_report", "FY2023",
                                           reason="no source registered for TCS.NS annual_report FY2023"),
                             BootstrapItem(0, "TCS.NS", "annual_report", "FY2024",
                                           source_url="https://example.com/ar.pdf"),
                         ])


async def test_bootstrap_task_round_trip_in_plan_order(repo):
    assert await repo.create_bootstrap_task(bootstrap_task()) is True
    assert await repo.create_bootstrap_task(bootstrap_task()) is False  # a redelivery writes nothing
    task = await repo.get_bootstrap_task("bootstrap-1")
    assert task.status == BootstrapState.STARTED and task.owner == "admin-1"
    assert task.companies == ["TCS.NS"] and task.years == [2024, 2023] and task.created_at is not None
    assert [(i.position, i.fiscal_period, i.source_url, i.document_id) for i in task.items] == [
        (0, "FY2024", "https://example.com/ar.pdf", None), (1, "FY2023", None, None)]
    assert task.items[1].reason.startswith("no source registered")
    assert await repo.get_bootstrap_task("bootstrap-2") is None


async def test_bootstrap_task_states_stamp_their_times_and_items_take_documents(repo):
    await repo.create_bootstrap_task(bootstrap_task())
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    await repo.set_bootstrap_state("bootstrap-1", BootstrapState.RUNNING, now=t0)
    await repo.set_bootstrap_state("bootstrap-1", BootstrapState.RUNNING, now=t0 + timedelta(hours=1))
    document = await repo.create_document(new_doc())
    await repo.set_bootstrap_item("bootstrap-1", 0, document_id=document.id)
    await repo.set_bootstrap_state("bootstrap-1", BootstrapState.QUEUED, now=t0 + timedelta(minutes=5))
    task = await repo.get_bootstrap_task("bootstrap-1")
    assert task.status == BootstrapState.QUEUED
    assert task.started_at == t0  # the first run's start is kept
    assert task.finished_at == t0 + timedelta(minutes=5)
    assert task.items[0].document_id == document.id and task.items[0].reason is None
    with pytest.raises(KeyError):
        await repo.set_bootstrap_item("bootstrap-1", 7, reason="no such item")
    await repo.set_bootstrap_item("bootstrap-1", 0, reason="could not queue: bus down")
    again = await repo.get_bootstrap_task("bootstrap-1")
    assert again.items[0].document_id is None and again.items[0].reason == "could not queue: bus down"
    await repo.set_bootstrap_state("bootstrap-1", BootstrapState.FAILED, error="boom")
    failed = await repo.get_bootstrap_task("bootstrap-1")
    assert failed.status == BootstrapState.FAILED and failed.error == "boom"


async def test_documents_and_stages_of_many(repo):
    first = await repo.create_document(new_doc())
    second = await repo.create_document(new_doc(fiscal_period="FY2023"))
    await repo.save_stage(second.id, StageRecord(stage="download", state=StageState.COMPLETED, attempts=1))
    found = await repo.documents_by_id([first.id, second.id, second.id + 100])
    assert set(found) == {first.id, second.id} and found[second.id].fiscal_period == "FY2023"
    stages = await repo.stages_of([first.id, second.id])
    assert stages[second.id]["download"].state == StageState.COMPLETED
    assert stages[second.id]["parse"].state == StageState.PENDING
    assert all(r.state == StageState.PENDING for r in stages[first.id].values())
    assert await repo.documents_by_id([]) == {} and await repo.stages_of([]) == {}
