"""Use cases on documents: accept an ingest request or an upload, report progress.

Publish after the write: the document row exists (pending) before its JobRequested leaves;
if publishing fails the row is marked failed and the caller answers 503, so no document is
left waiting for a job that was never sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from beacon_runtime.bus.port import EventBus
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.logs import get_logger

from beacon_ingestion.domain import (
    STAGES,
    Document,
    DocumentStatus,
    NewDocument,
    StageState,
    iso_utc,
    utcnow,
)
from beacon_runtime.files import FileStore
from beacon_ingestion.pipeline.events import ingest_request
from beacon_ingestion.pipeline.stages import source_key
from beacon_ingestion.repository.port import IngestionRepository

log = get_logger(__name__)

# Share of a typical run spent in each stage (embedding dominates with a real model).
STAGE_WEIGHTS = {"download": 0.1, "parse": 0.3, "chunk": 0.05, "embed": 0.4, "index": 0.15}


def default_title(doc_type: str, fiscal_period: str | None) -> str:
    name = doc_type.replace("_", " ").title()
    return f"{name} {fiscal_period}" if fiscal_period else name


@dataclass(frozen=True)
class Accepted:
    document: Document
    created: bool  # False: an equivalent document already exists and is returned instead

    def body(self) -> dict[str, Any]:
        if self.created:
            message = "Document queued for ingestion"
        elif self.document.status == DocumentStatus.COMPLETED:
            message = "Document already ingested"
        else:
            message = "Document already queued for ingestion"
        return {"document_id": self.document.id, "status": self.document.status.value, "message": message}


class PublishFailed(DependencyUnavailable):
    pass


class DocumentService:
    def __init__(self, repo: IngestionRepository, files: FileStore, bus: EventBus) -> None:
        self._repo = repo
        self.files = files
        self._bus = bus

    async def request_ingest(self, new: NewDocument, *, correlation_id: str | None = None) -> Accepted:
        assert new.source_url
        existing = await self._repo.find_live_by_source(
            new.source_url, new.company_symbol, new.doc_type, new.fiscal_period)
        if existing is not None:
            return Accepted(existing, created=False)
        document = await self._repo.create_document(new)
        await self._enqueue(document, correlation_id)
        return Accepted(document, created=True)

    async def upload(self, new: NewDocument, data: bytes, *, correlation_id: str | None = None) -> Accepted:
        sha = hashlib.sha256(data).hexdigest()
        existing = await self._repo.find_completed_by_sha(sha)
        if existing is not None:
            return Accepted(existing, created=False)
        new.sha256, new.file_size_bytes, new.content_type = sha, len(data), "application/pdf"
        document = await self._repo.create_document(new)
        path = await self.files.put(source_key(document.id), data)
        await self._repo.update_document(document.id, storage_path=path)
        document.storage_path = path
        await self._enqueue(document, correlation_id)
        return Accepted(document, created=True)

    async def _enqueue(self, document: Document, correlation_id: str | None) -> None:
        try:
            await self._bus.publish(ingest_request(document.id, document.owner, correlation_id))
        except Exception as exc:
            log.error("ingest.publish_failed", document_id=document.id, error=repr(exc))
            await self._repo.update_document(document.id, status=DocumentStatus.FAILED,
                                             error="could not queue the ingestion job")
            raise PublishFailed("bus: could not queue the ingestion job") from exc

    async def status(self, document: Document) -> dict[str, Any]:
        stages = await self._repo.stages(document.id)
        progress = {stage: _stage_state(stages[stage].state) for stage in STAGES}
        return {
            "document_id": document.id,
            "status": document.status.value,
            "progress": progress,
            "started_at": iso_utc(document.started_at),
            "estimated_completion": iso_utc(_estimate(document, stages)),
            "error": document.error,
        }


def _stage_state(state: StageState) -> str:
    # A failed attempt that will be retried shows as in progress until the document fails.
    return state.value


def _estimate(document: Document, stages) -> datetime | None:
    if document.status == DocumentStatus.COMPLETED:
        return document.completed_at
    if document.status != DocumentStatus.PROCESSING or document.started_at is None:
        return None
    done = sum(STAGE_WEIGHTS[s] for s, r in stages.items() if r.state == StageState.COMPLETED)
    elapsed = (utcnow() - document.started_at).total_seconds()
    if done <= 0:
        return None
    return document.started_at + timedelta(seconds=elapsed / done)


def parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
