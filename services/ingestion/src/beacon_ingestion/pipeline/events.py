"""What an ingestion run says on the bus: progress, completion, the document's arrival."""

from __future__ import annotations

from typing import Any

from beacon_contracts.commands import IngestDocument
from beacon_contracts.events import (
    DocumentIngested,
    Envelope,
    JobCompleted,
    JobError,
    JobKind,
    JobProgress,
)
from beacon_runtime.bus.port import EventBus

from beacon_ingestion.domain import Document, job_id_for

OWNER = "ingestion"


class RunEvents:
    """The run's voice on the bus."""

    def __init__(self, bus: EventBus, document_id: int, cause: Envelope | None) -> None:
        self._bus = bus
        self._document_id = document_id
        self._job_id = job_id_for(document_id)
        self._cause = cause

    async def _publish(self, payload) -> None:
        envelope = (self._cause.follow(payload) if self._cause is not None
                    else Envelope.wrap(payload, correlation_id=self._job_id))
        await self._bus.publish(envelope)

    async def progress(self, stage: str, state: str, detail: str | None = None) -> None:
        await self._publish(JobProgress(job_id=self._job_id, kind=JobKind.INGEST, stage=stage,
                                        state=state, detail=detail))

    async def completed(self, *, result: dict[str, Any] | None = None, failed: str | None = None) -> None:
        await self._publish(JobCompleted(
            job_id=self._job_id, kind=JobKind.INGEST,
            outcome="failed" if failed else "completed", result=None if failed else result,
            error=JobError(error_code="INGESTION_FAILED", message=failed) if failed else None))

    async def ingested(self, document: Document) -> None:
        await self._publish(DocumentIngested(
            document_id=document.id, company_symbol=document.company_symbol,
            doc_type=document.doc_type, fiscal_period=document.fiscal_period,
            chunk_count=document.chunk_count, page_count=document.page_count or 0))


def ingest_request(document_id: int, owner: str | None, correlation_id: str | None = None) -> Envelope:
    payload = IngestDocument(job_id=job_id_for(document_id), owner=owner or OWNER,
                             document_id=document_id)
    return Envelope.wrap(payload, correlation_id=correlation_id or job_id_for(document_id))
