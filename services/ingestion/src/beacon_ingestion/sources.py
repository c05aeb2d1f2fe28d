"""The source registry behind POST /admin/bootstrap: where a company's filings are.

A registry is JSON (SOURCE_REGISTRY_PATH), a list of entries tried in order:

    {"sources": [
      {"symbol": "RELIANCE.NS", "doc_type": "annual_report", "fiscal_period": "FY2024",
       "url": "https://.../annual-report-2023-24.pdf", "title": "...", "document_date": "2024-05-15"},
      {"symbol": "*", "doc_type": "annual_report",
       "url_template": "https://filings.internal/{nse_symbol}/AR_{fiscal_year}.pdf"}
    ]}

Template fields: {symbol} {nse_symbol} {fiscal_year} {fiscal_period} {quarter}. The bundled
sample corpus is always registered first, as `sample://<file>` sources (read from the package,
no network). A year Y means fiscal year FY{Y} (April Y-1 to March Y): one annual report, or
four quarterly results Q1..Q4FY{YY}.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from beacon_contracts.commands import RunBootstrap
from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobProgress
from beacon_runtime.bus.port import EventBus
from beacon_runtime.logs import get_logger

from beacon_ingestion.documents import DocumentService, default_title
from beacon_ingestion.domain import (
    BootstrapItem,
    BootstrapState,
    BootstrapTask,
    Document,
    NewDocument,
    StageRecord,
    iso_utc,
    normalize_symbol,
)
from beacon_ingestion.repository.port import IngestionRepository

log = get_logger(__name__)
SAMPLE_SCHEME = "sample://"


@dataclass(frozen=True)
class Source:
    symbol: str
    doc_type: str
    fiscal_period: str
    url: str
    title: str | None = None
    document_date: date | None = None


def periods_for(doc_type: str, year: int) -> list[tuple[str, int | None]]:
    if doc_type == "quarterly_result":
        return [(f"Q{q}FY{year % 100:02d}", q) for q in (1, 2, 3, 4)]
    return [(f"FY{year}", None)]


def sample_manifest() -> list[dict[str, Any]]:
    root = resources.files("beacon_ingestion") / "sample_corpus"
    manifest = root / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else []


def sample_sources() -> list[Source]:
    return [Source(s["symbol"], s["doc_type"], s["fiscal_period"], SAMPLE_SCHEME + s["file"],
                   s.get("title"), date.fromisoformat(s["document_date"]) if s.get("document_date") else None)
            for s in sample_manifest()]


def sample_text(name: str) -> str | None:
    path = resources.files("beacon_ingestion") / "sample_corpus" / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


def sample_bytes(url: str) -> bytes:
    name = url.removeprefix(SAMPLE_SCHEME)
    if "/" in name or name.startswith("."):
        raise ValueError(f"invalid sample source {url!r}")
    return (resources.files("beacon_ingestion") / "sample_corpus" / name).read_bytes()


class SourceRegistry:
    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: Path | None) -> SourceRegistry:
        entries = [
            {"symbol": s["symbol"], "doc_type": s["doc_type"], "fiscal_period": s["fiscal_period"],
             "url": SAMPLE_SCHEME + s["file"], "title": s.get("title"),
             "document_date": s.get("document_date")}
            for s in sample_manifest()
        ]
        if path is not None:
            entries.extend(json.loads(Path(path).read_text())["sources"])
        return cls(entries)

    def resolve(self, symbol: str, doc_type: str, fiscal_period: str, quarter: int | None) -> Source | None:
        nse = symbol.removesuffix(".NS")
        fiscal_year = int(fiscal_period[-4:]) if fiscal_period.startswith("FY") else 2000 + int(fiscal_period[-2:])
        for entry in self._entries:
            if entry.get("doc_type") != doc_type or entry.get("symbol") not in (symbol, "*"):
                continue
            if "url" in entry:
                if entry.get("fiscal_period") != fiscal_period:
                    continue
                url = entry["url"]
            elif "url_template" in entry:
                url = entry["url_template"].format(
                    symbol=symbol, nse_symbol=nse, fiscal_year=fiscal_year,
                    fiscal_period=fiscal_period, quarter=quarter or "")
            else:
                continue
            day = entry.get("document_date")
            return Source(symbol, doc_type, fiscal_period, url, entry.get("title"),
                          date.fromisoformat(day) if day else None)
        return None

    def plan(self, companies: list[str], doc_types: list[str], years: list[int]) -> list[Source]:
        planned = []
        for symbol in companies:
            for doc_type in doc_types:
                for year in years:
                    for period, quarter in periods_for(doc_type, year):
                        source = self.resolve(symbol, doc_type, period, quarter)
                        if source is not None:
                            planned.append(source)
        return planned


class Bootstrapper:
    """Runs POST /admin/bootstrap as a task that can be read back (GET /admin/bootstrap/{id}).

    The task is a record from the moment it is accepted: one item per planned filing, with the
    document it became or the reason it did not (no source registered, or queuing it failed).
    Fetching happens in each document's own pipeline; its failure shows on the document."""

    def __init__(self, repo: IngestionRepository, registry: SourceRegistry,
                 documents: DocumentService, bus: EventBus) -> None:
        self._repo = repo
        self._registry = registry
        self._documents = documents
        self._bus = bus

    def _symbols(self, companies: list[str]) -> list[str]:
        # The bundled registry lists NSE filings: a bare symbol names its NSE listing.
        return [s if "." in s else s + ".NS" for s in map(normalize_symbol, companies)]

    def plan(self, companies: list[str], doc_types: list[str], years: list[int]) -> list[Source]:
        return self._registry.plan(self._symbols(companies), doc_types, years)

    def plan_items(self, companies: list[str], doc_types: list[str], years: list[int]) -> list[BootstrapItem]:
        """Every filing the request names, found in the registry or not."""
        items = []
        for symbol in self._symbols(companies):
            for doc_type in doc_types:
                for year in years:
                    for period, quarter in periods_for(doc_type, year):
                        source = self._registry.resolve(symbol, doc_type, period, quarter)
                        items.append(BootstrapItem(
                            position=len(items), symbol=symbol, doc_type=doc_type, fiscal_period=period,
                            source_url=source.url if source else None,
                            reason=None if source else f"no source registered for {symbol} {doc_type} {period}"))
        return items

    async def start(self, companies: list[str], doc_types: list[str], years: list[int],
                    owner: str | None) -> tuple[str, int]:
        task = BootstrapTask(task_id=f"bootstrap-{uuid.uuid4()}", owner=owner or "admin",
                             companies=companies, doc_types=doc_types, years=years,
                             items=self.plan_items(companies, doc_types, years))
        await self._repo.create_bootstrap_task(task)
        request = RunBootstrap(job_id=task.task_id, owner=task.owner,
                               companies=companies, doc_types=doc_types, years=years)
        try:
            await self._bus.publish(Envelope.wrap(request, correlation_id=task.task_id))
        except Exception as exc:
            await self._repo.set_bootstrap_state(task.task_id, BootstrapState.FAILED,
                                                 error=f"could not queue the task: {exc}")
            raise
        return task.task_id, sum(1 for item in task.items if item.source_url)

    async def run(self, envelope: Envelope, request: RunBootstrap) -> None:
        task = await self._repo.get_bootstrap_task(request.job_id)
        if task is None:  # queued before tasks were records: plan it now
            task = BootstrapTask(task_id=request.job_id, owner=request.owner, companies=request.companies,
                                 doc_types=request.doc_types, years=request.years,
                                 items=self.plan_items(request.companies, request.doc_types, request.years))
            await self._repo.create_bootstrap_task(task)
        await self._repo.set_bootstrap_state(task.task_id, BootstrapState.RUNNING)
        sources = {(s.symbol, s.doc_type, s.fiscal_period): s
                   for s in self.plan(request.companies, request.doc_types, request.years)}
        todo = [item for item in task.items if item.source_url]
        document_ids = []
        for number, item in enumerate(todo, start=1):
            if item.document_id is None:  # a redelivery keeps what an earlier run queued
                source = sources.get((item.symbol, item.doc_type, item.fiscal_period))
                try:
                    if source is None:
                        raise LookupError("its source is no longer registered")
                    item.document_id = await self.enqueue(source, owner=request.owner,
                                                          correlation_id=envelope.correlation_id)
                except Exception as exc:  # noqa: BLE001 - one filing that cannot be queued is reported, not fatal
                    log.warning("bootstrap.item_failed", task_id=task.task_id, symbol=item.symbol,
                                fiscal_period=item.fiscal_period, error=str(exc))
                    await self._repo.set_bootstrap_item(task.task_id, item.position,
                                                        reason=f"could not queue: {exc}")
                    continue
                await self._repo.set_bootstrap_item(task.task_id, item.position, document_id=item.document_id)
            document_ids.append(item.document_id)
            await self._bus.publish(envelope.follow(JobProgress(
                job_id=request.job_id, kind=JobKind.BOOTSTRAP, stage="enqueue",
                state="in_progress" if number < len(todo) else "completed",
                detail=f"{number}/{len(todo)} documents queued")))
        await self._repo.set_bootstrap_state(task.task_id, BootstrapState.QUEUED)
        await self._bus.publish(envelope.follow(JobCompleted(
            job_id=request.job_id, kind=JobKind.BOOTSTRAP, outcome="completed",
            result={"document_ids": document_ids, "documents": len(document_ids)})))
        log.info("bootstrap.queued", task_id=request.job_id, documents=len(document_ids))

    async def progress(self, task_id: str) -> dict[str, Any] | None:
        """The task as GET /admin/bootstrap/{task_id} shows it, or None if there is none."""
        task = await self._repo.get_bootstrap_task(task_id)
        if task is None:
            return None
        ids = [item.document_id for item in task.items if item.document_id is not None]
        documents = await self._repo.documents_by_id(ids)
        stages = await self._repo.stages_of(list(documents))
        entries = [_item_entry(item, documents, stages) for item in task.items]
        counts = {state: sum(1 for e in entries if e["status"] == state) for state in ITEM_STATES}
        finished = counts["completed"] + counts["failed"] + counts["skipped"]
        return {
            "task_id": task.task_id,
            "status": _task_status(task, counts),
            "requested": {"companies": task.companies, "doc_types": task.doc_types, "years": task.years},
            "requested_by": task.owner,
            "created_at": iso_utc(task.created_at),
            "started_at": iso_utc(task.started_at),
            "finished_at": iso_utc(task.finished_at),
            "error": task.error,
            "progress": {"total": len(entries), **counts,
                         "percent": round(100 * finished / len(entries), 1) if entries else 100.0},
            "documents": entries,
            "failures": [{k: e[k] for k in ("symbol", "doc_type", "fiscal_period", "source_url",
                                           "document_id", "status", "error")}
                         for e in entries if e["status"] in ("failed", "skipped")],
        }

    async def enqueue(self, source: Source, *, owner: str | None = None,
                      correlation_id: str | None = None) -> int:
        company = await self._repo.get_company(source.symbol)
        new = NewDocument(
            doc_type=source.doc_type,
            title=source.title or default_title(source.doc_type, source.fiscal_period),
            company_id=company.id if company else None, company_symbol=source.symbol,
            fiscal_period=source.fiscal_period, document_date=source.document_date,
            source_url=source.url, owner=owner)
        if source.url.startswith(SAMPLE_SCHEME):
            existing = await self._repo.find_live_by_source(
                source.url, source.symbol, source.doc_type, source.fiscal_period)
            if existing is not None:
                return existing.id
            accepted = await self._documents.upload(new, sample_bytes(source.url),
                                                    correlation_id=correlation_id)
        else:
            accepted = await self._documents.request_ingest(new, correlation_id=correlation_id)
        return accepted.document.id


# How one planned filing stands: waiting (not queued yet), skipped (never queued: the reason
# says why), or its document's own status.
ITEM_STATES = ("waiting", "pending", "processing", "completed", "failed", "skipped")


def _item_entry(item: BootstrapItem, documents: dict[int, Document],
                stages: dict[int, dict[str, StageRecord]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "symbol": item.symbol, "doc_type": item.doc_type, "fiscal_period": item.fiscal_period,
        "source_url": item.source_url, "document_id": item.document_id,
        "status": "waiting", "stages": None, "error": None,
    }
    if item.reason is not None:
        entry.update(status="skipped", error=item.reason)
    elif item.document_id is not None:
        document = documents.get(item.document_id)
        if document is None:
            entry.update(status="failed", error=f"document {item.document_id} was deleted")
        else:
            entry.update(status=document.status.value, error=document.error,
                         stages={name: r.state.value for name, r in stages[document.id].items()})
    return entry


def _task_status(task: BootstrapTask, counts: dict[str, int]) -> str:
    if task.status == BootstrapState.QUEUED:
        # Every filing is queued: the task runs until its last document has finished.
        return "running" if counts["pending"] or counts["processing"] else "completed"
    return task.status.value
