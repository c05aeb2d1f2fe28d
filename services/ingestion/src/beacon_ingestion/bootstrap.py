"""Composition root of the ingestion service: the one place its dependencies are wired.

`build(settings, adapters)` returns a Service whose `http` is the internal FastAPI app. The
bus, vector store, embedder and file store come from `adapters` (chosen from settings in
beacon_runtime.adapters); the service's own repository follows DATABASE_URL (Postgres, else
in memory). A repository passed in belongs to the caller and is not closed here.
"""

from __future__ import annotations

import asyncio
from functools import partial

from beacon_contracts.commands import IngestDocument, RunBootstrap
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.dispatch import subscribe
from beacon_runtime.bus.port import EventBus
from beacon_runtime.embeddings.local import Bm25SparseEncoder
from beacon_runtime.logs import get_logger
from beacon_runtime.service import Service

from beacon_ingestion.api.app import create_app
from beacon_ingestion.api.common import ApiDeps
from beacon_ingestion.companies.company_data import import_company_data, seed_catalogue_if_empty
from beacon_ingestion.documents import DocumentService
from beacon_ingestion.handlers import handle_bootstrap, handle_ingest
from beacon_ingestion.material import MaterialService
from beacon_ingestion.pipeline.download import SafeDownloader
from beacon_ingestion.pipeline.events import ingest_request
from beacon_ingestion.pipeline.parsing import prewarm_parsers
from beacon_ingestion.pipeline.runner import Pipeline
from beacon_ingestion.pipeline.stages import Stages
from beacon_ingestion.repository.memory import InMemoryIngestionRepository
from beacon_ingestion.repository.port import IngestionRepository
from beacon_ingestion.search import ChunkSearch
from beacon_ingestion.settings import IngestionSettings
from beacon_ingestion.sources import Bootstrapper, SourceRegistry, sample_sources, sample_text

log = get_logger(__name__)
CONSUMER = "ingestion"


def build(
    settings: IngestionSettings, adapters: Adapters, *, repo: IngestionRepository | None = None
) -> Service:
    owned: list = []
    starts: list = []
    if repo is None:
        repo = build_repository(settings)
        owned.append(repo)
        if hasattr(repo, "start"):
            starts.append(repo.start)
    bus, vectors, embedder, files = adapters.bus, adapters.vectors, adapters.embedder, adapters.files
    downloader = SafeDownloader(
        allowed_hosts=settings.allowed_hosts(), max_bytes=settings.download_max_bytes,
        timeout_s=settings.download_timeout_s, max_redirects=settings.download_max_redirects)
    stages = Stages(settings=settings, repo=repo, files=files, downloader=downloader,
                    embedder=embedder, sparse=Bm25SparseEncoder(), vectors=vectors)
    pipeline = Pipeline(settings=settings, repo=repo, stages=stages, bus=bus)
    documents = DocumentService(repo, files, bus)
    bootstrapper = Bootstrapper(repo, SourceRegistry.load(settings.source_registry_path), documents, bus)
    search = ChunkSearch(embedder, Bm25SparseEncoder(), vectors, settings.qdrant_collection)
    material = MaterialService(repo, files, bus, vectors, embedder, Bm25SparseEncoder(),
                               collection=settings.material_collection,
                               filings_collection=settings.qdrant_collection,
                               retention_days=settings.material_retention_days)

    subscribe(bus, CONSUMER, {
        IngestDocument: partial(handle_ingest, pipeline=pipeline),
        RunBootstrap: partial(handle_bootstrap, bootstrapper=bootstrapper),
    }, concurrency=settings.worker_concurrency)
    app = create_app(ApiDeps(
        settings=settings, repo=repo, checks={"bus": bus.ping, "vectors": vectors.ping},
        documents=documents, search=search, bootstrapper=bootstrapper, downloader=downloader,
        material=material))
    background = _Background(settings, repo, bus, bootstrapper, material)
    service = Service(name=settings.service_name, http=app)
    service.on_start.extend([*starts, background.start])
    service.on_stop.extend([*(a.close for a in owned), downloader.close, background.stop])
    # Reachable for tests, the benchmark and operators' tooling.
    service.pipeline = pipeline  # type: ignore[attr-defined]
    service.background = background  # type: ignore[attr-defined]
    service.material = material  # type: ignore[attr-defined]
    return service


def build_repository(settings: IngestionSettings) -> IngestionRepository:
    if settings.database_url:
        from beacon_ingestion.repository.postgres import PostgresIngestionRepository

        return PostgresIngestionRepository(settings.database_url, settings.db_schema,
                                           migrate_on_start=settings.migrate_on_start)
    return InMemoryIngestionRepository()


class _Background:
    """Start-up work: the catalogue seed, the sample corpus, and runs the in-process bus lost;
    then the sweep that deletes expired customer material."""

    def __init__(self, settings: IngestionSettings, repo: IngestionRepository, bus: EventBus,
                 bootstrapper: Bootstrapper, material: MaterialService) -> None:
        self._settings = settings
        self._repo = repo
        self._bus = bus
        self._bootstrapper = bootstrapper
        self._material = material
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        await asyncio.to_thread(prewarm_parsers)
        if self._settings.seed_catalogue and await seed_catalogue_if_empty(self._repo):
            log.info("catalogue.seeded")
        if self._settings.embedded and self._settings.database_url:
            await self.requeue_lost_runs()
        if self._settings.wants_sample_corpus():
            self._tasks.append(asyncio.create_task(self._sample_corpus(), name="ingestion:samples"))
        if self._settings.material_retention_days:
            self._tasks.append(asyncio.create_task(self._sweep_material(), name="ingestion:retention"))

    async def _sweep_material(self) -> None:
        while True:
            try:
                await self._material.expire()
            except Exception as exc:  # noqa: BLE001 - a failed sweep is retried by the next one
                log.warning("material.sweep_failed", error=repr(exc))
            await asyncio.sleep(self._settings.material_sweep_s)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def requeue_lost_runs(self) -> list[int]:
        """The in-process bus does not outlive its process, but Postgres rows do: a document
        left pending or processing by the last process has no message anywhere, so it gets
        one. (With RabbitMQ nothing is re-queued: its messages wait in the broker.)"""
        lost = await self._repo.open_documents()
        for document_id in lost:
            await self._bus.publish(ingest_request(document_id, "restart"))
        if lost:
            log.warning("ingest.requeued_after_restart", documents=len(lost))
        return lost

    async def _sample_corpus(self) -> None:
        """Queue the bundled sample PDFs and import the sample company data (illustrative)."""
        for name, kind in (("fundamentals.csv", "fundamentals"), ("prices.csv", "prices"),
                           ("news.json", "news")):
            text = sample_text(name)
            if text is not None:
                try:
                    await import_company_data(self._repo, kind, text, filename=name)
                except Exception as exc:  # noqa: BLE001 - samples must never stop the service
                    log.warning("sample_data.skipped", file=name, error=repr(exc))
        for attempt in range(10):
            try:
                ids = [await self._bootstrapper.enqueue(source, owner="sample-corpus")
                       for source in sample_sources()]
                log.info("sample_corpus.queued", documents=len(ids))
                return
            except Exception as exc:  # noqa: BLE001 - the bus may not be up yet: try again
                log.warning("sample_corpus.retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(min(30, 2 ** attempt))
