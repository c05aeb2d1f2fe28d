"""Bus handler: one GenerateSection or RefineSection in, JobStarted then exactly one
JobCompleted out. The runtime's dispatcher parsed and checked the command already.

Idempotent by construction: a redelivered request is simply drafted again, and the gateway
keeps the first terminal result it sees.
"""

from __future__ import annotations

import structlog
from langgraph.graph.state import CompiledStateGraph

from beacon_contracts.commands import GenerateSection, RefineSection
from beacon_contracts.events import Envelope, JobCompleted, JobError, JobStarted
from beacon_report_writer.domain import ErrorCode
from beacon_runtime.bus.port import EventBus
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

SectionCommand = GenerateSection | RefineSection


async def handle_section(
    command: SectionCommand, envelope: Envelope, *, bus: EventBus, graph: CompiledStateGraph,
    worker_name: str,
) -> None:
    with structlog.contextvars.bound_contextvars(job_id=command.job_id, kind=command.kind.value,
                                                 request_id=command.request_id):
        await bus.publish(
            envelope.follow(
                JobStarted(job_id=command.job_id, kind=command.kind, worker=worker_name)
            )
        )
        completed = await _run(command, graph)
        # A failed publish raises: the bus redelivers and the job is drafted again.
        await bus.publish(envelope.follow(completed))
        log.info(
            "report.job_finished",
            outcome=completed.outcome,
            error_code=completed.error.error_code if completed.error else None,
        )


async def _run(command: SectionCommand, graph: CompiledStateGraph) -> JobCompleted:
    try:
        state = await graph.ainvoke({"request": command.request, "session_id": command.session_id})
    except Exception:  # noqa: BLE001 - a job must end; retrying a bug would not help it
        log.exception("report.job_crashed")
        return _failed(command, ErrorCode.INTERNAL_ERROR, "Unexpected error while drafting.")
    if error := state.get("error"):
        return JobCompleted(job_id=command.job_id, kind=command.kind, outcome="failed", error=error)
    return JobCompleted(
        job_id=command.job_id, kind=command.kind, outcome="completed", result=state["result"]
    )


def _failed(command: SectionCommand, code: ErrorCode, message: str) -> JobCompleted:
    return JobCompleted(
        job_id=command.job_id,
        kind=command.kind,
        outcome="failed",
        error=JobError(error_code=code.value, message=message),
    )
