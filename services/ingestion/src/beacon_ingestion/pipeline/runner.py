"""download -> parse -> chunk -> embed -> index, checkpointed stage by stage.

Each stage leaves its result where the next one finds it (the file store: source bytes,
parsed pages, dense vectors; Postgres: chunks), then is marked completed. A run starts at the
first stage not completed, so a retry, a redelivered message or another replica resumes where
the last attempt stopped.

Within a run, a stage that raises is retried up to `stage_max_attempts` with back-off; a stage
that reports no progress for `stage_stall_timeout_s` is cancelled and counts as a failed
attempt. PermanentStageError (bad input: SSRF refusal, not a PDF, encrypted...) fails the
document at once. After the last attempt the document is failed with the reason.

One worker at a time holds a document (a lease renewed while it works); a redelivery that
finds the lease held by a live worker is dropped. The reaper re-queues documents whose worker
vanished (no live lease, no progress).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from beacon_contracts.events import (
    Envelope,
)
from beacon_runtime.bus.port import EventBus
from beacon_runtime.embeddings.port import Embedder, SparseEncoder
from beacon_runtime.logs import get_logger
from beacon_runtime.vectors.port import VectorPoint, VectorStore

from beacon_ingestion.domain import (
    STAGES,
    Chunk,
    Document,
    DocumentStatus,
    StageRecord,
    StageState,
    utcnow,
)
from beacon_ingestion.files import FileStore
from beacon_ingestion.pipeline.chunking import chunk_pages, point_id
from beacon_ingestion.pipeline.download import SafeDownloader
from beacon_ingestion.pipeline.errors import PermanentStageError, StageStalled
from beacon_ingestion.pipeline.events import RunEvents
from beacon_ingestion.pipeline.parsing import Page, parse_pdf
from beacon_ingestion.repository.port import IngestionRepository
from beacon_ingestion.settings import IngestionSettings

log = get_logger(__name__)


def source_key(document_id: int) -> str:
    return f"documents/{document_id}/source.pdf"


def pages_key(document_id: int) -> str:
    return f"documents/{document_id}/pages.json"


def dense_key(document_id: int) -> str:
    return f"documents/{document_id}/dense.npy"


def search_text(document: Document, chunk: Chunk) -> str:
    """What is embedded: the chunk with its document and section, so that a question naming
    the company, the period or the section matches it."""
    head = " ".join(x for x in (document.company_symbol, document.fiscal_period, document.title) if x)
    section = f"{chunk.section}\n" if chunk.section and not chunk.text.startswith(chunk.section) else ""
    return f"{head}\n{section}{chunk.text}"


class Heartbeat:
    """Stages call `beat()` whenever they make progress; the watchdog reads `last`."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.detail: str | None = None

    def beat(self, detail: str | None = None) -> None:
        self.last = time.monotonic()
        if detail is not None:
            self.detail = detail


@dataclass
class StageOutcome:
    detail: str | None = None
    finished: bool = False  # the document is done (a duplicate): skip the remaining stages


StageFn = Callable[[Document, Heartbeat], Awaitable[StageOutcome]]


@dataclass
class Pipeline:
    settings: IngestionSettings
    repo: IngestionRepository
    files: FileStore
    downloader: SafeDownloader
    embedder: Embedder
    sparse: SparseEncoder
    vectors: VectorStore
    bus: EventBus
    worker: str = "ingestion"
    # Test seam: wraps each stage function (e.g. to inject a failure in one stage).
    stage_wrapper: Callable[[str, StageFn], StageFn] | None = None
    _stage_fns: dict[str, StageFn] = field(init=False)

    def __post_init__(self) -> None:
        self._stage_fns = {"download": self._download, "parse": self._parse, "chunk": self._chunk,
                           "embed": self._embed, "index": self._index}

    @property
    def collection(self) -> str:
        return self.settings.qdrant_collection

    # ------------------------------------------------------------ the run
    async def run(self, document_id: int, cause: Envelope | None = None) -> None:
        document = await self.repo.get_document(document_id)
        if document is None:
            log.warning("ingest.unknown_document", document_id=document_id)
            return
        if document.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED):
            log.info("ingest.already_final", document_id=document_id, status=document.status.value)
            return
        now = utcnow()
        # The lease names this run, not just this process: two deliveries of one document
        # in the same worker must not run side by side either.
        owner = f"{self.worker}/{uuid.uuid4().hex[:12]}"
        if not await self.repo.claim(document_id, owner, now + timedelta(seconds=self.settings.lease_s), now):
            log.info("ingest.held_elsewhere", document_id=document_id)
            return
        events = RunEvents(self.bus, document_id, cause, owner)
        try:
            await self.repo.update_document(document_id, status=DocumentStatus.PROCESSING,
                                            started_at=document.started_at or now, error=None)
            stages = await self.repo.stages(document_id)
            for stage in STAGES:
                if stages[stage].state == StageState.COMPLETED:
                    continue
                document = await self.repo.get_document(document_id)
                assert document is not None
                outcome = await self._run_stage(document, stages[stage], events)
                if outcome is None:
                    return  # failed: the document and its events are settled
                if outcome.finished:
                    break
            await self._complete(document_id, events)
        finally:
            await self.repo.release(document_id, owner)

    async def _run_stage(self, document: Document, record: StageRecord, events: RunEvents) -> StageOutcome | None:
        fn = self._stage_fns[record.stage]
        if self.stage_wrapper is not None:
            fn = self.stage_wrapper(record.stage, fn)
        settings = self.settings
        while True:
            record.attempts += 1
            record.state = StageState.IN_PROGRESS
            record.started_at = record.heartbeat_at = utcnow()
            record.finished_at = None
            record.error = None
            await self.repo.save_stage(document.id, record)
            await events.progress(record.stage, "in_progress", f"attempt {record.attempts}")
            try:
                outcome = await self._watch(document, record, fn, events)
            except PermanentStageError as exc:
                await self._fail(document, record, str(exc), events)
                return None
            except Exception as exc:  # noqa: BLE001 - any other failure is worth another attempt
                reason = str(exc) or exc.__class__.__name__
                log.warning("ingest.stage_failed", document_id=document.id, stage=record.stage,
                            attempt=record.attempts, error=reason)
                if record.attempts >= settings.stage_max_attempts:
                    await self._fail(document, record,
                                     f"{record.stage} failed after {record.attempts} attempts: {reason}",
                                     events)
                    return None
                record.state, record.error = StageState.FAILED, reason
                record.finished_at = utcnow()
                await self.repo.save_stage(document.id, record)
                await events.progress(record.stage, "failed", f"{reason}; retrying")
                await asyncio.sleep(settings.stage_retry_base_delay_s * 2 ** (record.attempts - 1))
                continue
            record.state, record.detail = StageState.COMPLETED, outcome.detail
            record.finished_at = utcnow()
            await self.repo.save_stage(document.id, record)
            await events.progress(record.stage, "completed", outcome.detail)
            return outcome

    async def _watch(self, document: Document, record: StageRecord, fn: StageFn,
                     events: RunEvents) -> StageOutcome:
        """Run the stage; cancel it if it stops beating; persist heartbeats; renew the lease."""
        stall = self.settings.stage_stall_timeout_s
        interval = max(0.01, min(5.0, stall / 4))
        heartbeat = Heartbeat()
        task = asyncio.create_task(fn(document, heartbeat))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=interval)
                if done:
                    return task.result()
                if time.monotonic() - heartbeat.last > stall:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise StageStalled(f"no progress for {stall:g}s")
                now = utcnow()
                record.heartbeat_at, record.detail = now, heartbeat.detail
                await self.repo.save_stage(document.id, record)
                await self.repo.claim(document.id, events.owner,
                                      now + timedelta(seconds=self.settings.lease_s), now)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _fail(self, document: Document, record: StageRecord, reason: str, events: RunEvents) -> None:
        record.state, record.error, record.finished_at = StageState.FAILED, reason, utcnow()
        await self.repo.save_stage(document.id, record)
        await self.repo.update_document(document.id, status=DocumentStatus.FAILED, error=reason,
                                        completed_at=utcnow())
        log.error("ingest.failed", document_id=document.id, stage=record.stage, reason=reason)
        await events.progress(record.stage, "failed", reason)
        await events.completed(failed=reason)

    async def _complete(self, document_id: int, events: RunEvents) -> None:
        await self.repo.update_document(document_id, status=DocumentStatus.COMPLETED, completed_at=utcnow())
        document = await self.repo.get_document(document_id)
        assert document is not None
        log.info("ingest.completed", document_id=document_id, chunks=document.chunk_count,
                 pages=document.page_count, duplicate_of=document.duplicate_of)
        await events.ingested(document)
        await events.completed(result={"document_id": document_id, "chunk_count": document.chunk_count,
                                       "page_count": document.page_count,
                                       "duplicate_of": document.duplicate_of})

    # ------------------------------------------------------------ stages
    async def _download(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        key = source_key(document.id)
        if document.storage_path and await self.files.exists(self.files.key_of(document.storage_path)):
            data = await self.files.get(self.files.key_of(document.storage_path))
            detail = "already stored" if document.source_url else "uploaded"
        else:
            if not document.source_url:
                raise PermanentStageError("document has neither a file nor a source URL")
            fetched = await self.downloader.fetch(document.source_url, heartbeat.beat)
            data = fetched.data
            path = await self.files.put(key, data)
            await self.repo.update_document(
                document.id, storage_path=path, file_size_bytes=len(data),
                content_type="application/pdf", sha256=hashlib.sha256(data).hexdigest())
            detail = f"{len(data)} bytes"
        sha = hashlib.sha256(data).hexdigest()
        if document.sha256 != sha:
            await self.repo.update_document(document.id, sha256=sha, file_size_bytes=len(data))
        original = await self.repo.find_completed_by_sha(sha, exclude=document.id)
        if original is not None:
            # Identical bytes are already searchable: this document costs nothing more.
            await self.repo.update_document(
                document.id, duplicate_of=original.id, chunk_count=original.chunk_count,
                page_count=original.page_count)
            for stage in STAGES[1:]:
                await self.repo.save_stage(document.id, StageRecord(
                    stage, StageState.COMPLETED, attempts=0, finished_at=utcnow(),
                    detail=f"skipped: identical to document {original.id}"))
            return StageOutcome(detail=f"identical to document {original.id}", finished=True)
        return StageOutcome(detail=detail)

    async def _parse(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        data = await self.files.get(self.files.key_of(document.storage_path or source_key(document.id)))
        pages = await parse_pdf(
            data, page_timeout_s=self.settings.parse_page_timeout_s,
            document_timeout_s=self.settings.parse_document_timeout_s,
            max_pages=self.settings.parse_max_pages,
            on_page=lambda n, total: heartbeat.beat(f"page {n}/{total}"),
        )
        await self.files.put(pages_key(document.id), json.dumps([p.to_json() for p in pages]).encode())
        await self.repo.update_document(document.id, page_count=len(pages))
        return StageOutcome(detail=f"{len(pages)} pages")

    async def _chunk(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        pages = [Page.from_json(p) for p in json.loads(await self.files.get(pages_key(document.id)))]
        drafts = chunk_pages(pages, target_chars=self.settings.chunk_target_chars,
                             max_chars=self.settings.chunk_max_chars)
        if not drafts:
            raise PermanentStageError("no text to index")
        sha = document.sha256 or ""
        chunks = [Chunk(id=point_id(sha, i, d.text), document_id=document.id, chunk_index=i,
                        page_start=d.page_start, page_end=d.page_end, section=d.section, text=d.text)
                  for i, d in enumerate(drafts)]
        heartbeat.beat(f"{len(chunks)} chunks")
        await self.repo.replace_chunks(document.id, chunks)
        await self.repo.update_document(document.id, chunk_count=len(chunks))
        return StageOutcome(detail=f"{len(chunks)} chunks")

    async def _embed(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        chunks = await self.repo.chunks(document.id)
        texts = [search_text(document, c) for c in chunks]
        batch = self.settings.embedding_batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch):
            vectors.extend(await self.embedder.embed_documents(texts[start:start + batch]))
            heartbeat.beat(f"{len(vectors)}/{len(texts)} chunks")
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(vectors, dtype=np.float32))
        await self.files.put(dense_key(document.id), buffer.getvalue())
        return StageOutcome(detail=f"{len(vectors)} vectors via {self.embedder.name}")

    async def _index(self, document: Document, heartbeat: Heartbeat) -> StageOutcome:
        chunks = await self.repo.chunks(document.id)
        dense = np.load(io.BytesIO(await self.files.get(dense_key(document.id))))
        if len(dense) != len(chunks):
            raise RuntimeError(f"{len(dense)} vectors for {len(chunks)} chunks: re-embedding")
        await self.vectors.ensure_collection(self.collection, int(dense.shape[1]))
        # Points of an earlier chunking of this document would otherwise linger.
        await self.vectors.delete_where(self.collection, {"document_id": document.id})
        batch = 256
        for start in range(0, len(chunks), batch):
            points = [
                VectorPoint(id=c.id, dense=dense[start + i].tolist(),
                            sparse=self.sparse.encode_document(search_text(document, c)),
                            payload=chunk_payload(document, c))
                for i, c in enumerate(chunks[start:start + batch])
            ]
            await self.vectors.upsert(self.collection, points)
            heartbeat.beat(f"{min(start + batch, len(chunks))}/{len(chunks)} points")
        return StageOutcome(detail=f"{len(chunks)} points")


def chunk_payload(document: Document, chunk: Chunk) -> dict[str, Any]:
    return {
        "document_id": document.id,
        "document_title": document.title,
        "company_symbol": document.company_symbol,
        "doc_type": document.doc_type,
        "fiscal_period": document.fiscal_period,
        "document_date": document.document_date.isoformat() if document.document_date else None,
        "page_number": chunk.page_start,
        "page_end": chunk.page_end,
        "section": chunk.section,
        "chunk_index": chunk.chunk_index,
        "text": chunk.text,
        "customer_id": document.customer_id,
        "opportunity_id": document.opportunity_id,
    }
