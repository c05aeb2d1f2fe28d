"""Bus handler: one JobRequested in, JobStarted then exactly one JobCompleted out.

Idempotent by construction: a redelivered request is simply drafted again, and the gateway
keeps the first terminal result it sees.
"""

from __future__ import annotations

import structlog
from langgraph.graph.state import CompiledStateGraph

from beacon_contracts.events import Envelope, JobCompleted, JobError, JobRequested, JobStarted
from beacon_report_writer.domain import ErrorCode
from beacon_runtime.bus.port import EventBus, Reject
from beacon_runtime.logs import get_logger

log = get_logger(__name__)


async def handle_job_requested(
    envelope: Envelope, *, bus: EventBus, graph: CompiledStateGraph, worker_name: str
) -> None:
    try:
        request = envelope.parse()
    except ValueError as exc:
        raise Reject(f"unreadable job request: {exc}") from exc
    if not isinstance(request, JobRequested):
        raise Reject(f"expected JobRequested, got {envelope.type}")

    with structlog.contextvars.bound_contextvars(job_id=request.job_id, kind=request.kind.value):
        await bus.publish(
            envelope.follow(
                JobStarted(job_id=request.job_id, kind=request.kind, worker=worker_name)
            )
        )
        completed = await _run(request, graph)
        # A failed publish raises: the bus redelivers and the job is drafted again.
        await bus.publish(envelope.follow(completed))
        log.info(
            "report.job_finished",
            outcome=completed.outcome,
            error_code=completed.error.error_code if completed.error else None,
        )


async def _run(request: JobRequested, graph: CompiledStateGraph) -> JobCompleted:
    try:
        state = await graph.ainvoke(
            {"kind": request.kind.value, "params": request.params, "owner": request.owner})
    except Exception:  # noqa: BLE001 - a job must end; retrying a bug would not help it
        log.exception("report.job_crashed")
        return _failed(request, ErrorCode.INTERNAL_ERROR, "Unexpected error while drafting.")
    if error := state.get("error"):
        return JobCompleted(job_id=request.job_id, kind=request.kind, outcome="failed", error=error)
    return JobCompleted(
        job_id=request.job_id, kind=request.kind, outcome="completed", result=state["result"]
    )


def _failed(request: JobRequested, code: ErrorCode, message: str) -> JobCompleted:
    return JobCompleted(
        job_id=request.job_id,
        kind=request.kind,
        outcome="failed",
        error=JobError(error_code=code.value, message=message),
    )
