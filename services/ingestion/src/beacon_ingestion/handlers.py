"""Bus handlers of the ingestion consumer: JobRequested(kind=ingest | bootstrap)."""

from __future__ import annotations

import structlog
from beacon_contracts.events import Envelope, JobKind, JobRequested
from beacon_runtime.bus.port import Reject

from beacon_ingestion.pipeline.runner import Pipeline
from beacon_ingestion.sources import Bootstrapper


def _request(envelope: Envelope) -> JobRequested:
    try:
        request = envelope.parse()
    except ValueError as exc:
        raise Reject(f"unreadable job request: {exc}") from exc
    if not isinstance(request, JobRequested):
        raise Reject(f"expected JobRequested, got {envelope.type}")
    return request


async def handle_job_requested(envelope: Envelope, *, pipeline: Pipeline, bootstrapper: Bootstrapper) -> None:
    request = _request(envelope)
    with structlog.contextvars.bound_contextvars(job_id=request.job_id, kind=request.kind.value):
        if request.kind == JobKind.INGEST:
            try:
                document_id = int(request.params["document_id"])
            except (KeyError, TypeError, ValueError) as exc:
                raise Reject("ingest request without a document_id") from exc
            await pipeline.run(document_id, envelope)
        elif request.kind == JobKind.BOOTSTRAP:
            await bootstrapper.run(envelope, request)
        else:
            raise Reject(f"ingestion does not handle {request.kind.value} jobs")
