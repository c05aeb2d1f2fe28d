"""Bus handlers of the ingestion consumer: IngestDocument and RunBootstrap, parsed and
checked by the runtime's dispatcher."""

from __future__ import annotations

import structlog
from beacon_contracts.commands import IngestDocument, RunBootstrap
from beacon_contracts.events import Envelope

from beacon_ingestion.pipeline.runner import Pipeline
from beacon_ingestion.sources import Bootstrapper


async def handle_ingest(command: IngestDocument, envelope: Envelope, *, pipeline: Pipeline) -> None:
    with structlog.contextvars.bound_contextvars(job_id=command.job_id, kind=command.kind.value):
        await pipeline.run(command.document_id, envelope)


async def handle_bootstrap(command: RunBootstrap, envelope: Envelope, *,
                           bootstrapper: Bootstrapper) -> None:
    with structlog.contextvars.bound_contextvars(job_id=command.job_id, kind=command.kind.value):
        await bootstrapper.run(envelope, command)
