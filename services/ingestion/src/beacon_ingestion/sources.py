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
from beacon_ingestion.domain import NewDocument, normalize_symbol
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
    def __init__(self, repo: IngestionRepository, registry: SourceRegistry,
                 documents: DocumentService, bus: EventBus) -> None:
        self._repo = repo
        self._registry = registry
        self._documents = documents
        self._bus = bus

    def plan(self, companies: list[str], doc_types: list[str], years: list[int]) -> list[Source]:
        return self._registry.plan([normalize_symbol(c) for c in companies], doc_types, years)

    async def start(self, companies: list[str], doc_types: list[str], years: list[int],
                    owner: str | None) -> tuple[str, int]:
        planned = self.plan(companies, doc_types, years)
        task_id = f"bootstrap-{uuid.uuid4()}"
        request = RunBootstrap(job_id=task_id, owner=owner or "admin",
                               companies=companies, doc_types=doc_types, years=years)
        await self._bus.publish(Envelope.wrap(request, correlation_id=task_id))
        return task_id, len(planned)

    async def run(self, envelope: Envelope, request: RunBootstrap) -> None:
        planned = self.plan(request.companies, request.doc_types, request.years)
        document_ids = []
        for number, source in enumerate(planned, start=1):
            document_ids.append(await self.enqueue(source, owner=request.owner,
                                                   correlation_id=envelope.correlation_id))
            await self._bus.publish(envelope.follow(JobProgress(
                job_id=request.job_id, kind=JobKind.BOOTSTRAP, stage="enqueue",
                state="in_progress" if number < len(planned) else "completed",
                detail=f"{number}/{len(planned)} documents queued")))
        await self._bus.publish(envelope.follow(JobCompleted(
            job_id=request.job_id, kind=JobKind.BOOTSTRAP, outcome="completed",
            result={"document_ids": document_ids, "documents": len(document_ids)})))
        log.info("bootstrap.queued", task_id=request.job_id, documents=len(document_ids))

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
