"""Bus handlers: a query job in; JobStarted, QueryFrames, maybe ReviewRequired and exactly one
JobCompleted out. Reviews resolved and cancellations in.

Every write happens before the publish that announces it. A redelivered request whose query
already ended republishes its JobCompleted and nothing else; one that died mid-run (still
`processing`) runs again from the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from langgraph.graph.state import CompiledStateGraph
from pydantic import ValidationError

from beacon_contracts.events import (
    Envelope,
    JobCancelled,
    JobCompleted,
    JobError,
    JobKind,
    JobRequested,
    JobStarted,
    ReviewRequired,
    ReviewResolved,
    utcnow,
)
from beacon_rag_query.domain import (
    ErrorCode,
    Metrics,
    NewQuery,
    Outcome,
    QueryParams,
    QueryRecord,
    QueryStatus,
    ReviewDecision,
)
from beacon_rag_query.frames import CancelRegistry, FrameEmitter, QueryCancelled
from beacon_rag_query.graph import GenerationFailed, QueryState, RunContext
from beacon_rag_query.metrics import FAITHFULNESS, QUERIES
from beacon_rag_query.repository import QueryRepository
from beacon_runtime.bus.port import EventBus, Reject
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

_MESSAGES = {
    ErrorCode.CANCELLED: "The query was cancelled.",
    ErrorCode.SERVICE_UNAVAILABLE: "A backing service is temporarily unavailable.",
    ErrorCode.INTERNAL_ERROR: "Unexpected error while answering.",
}


@dataclass(frozen=True)
class QueryRunner:
    """What handling a query needs, wired once by the composition root."""

    bus: EventBus
    repository: QueryRepository
    graph: CompiledStateGraph
    cancels: CancelRegistry
    worker_name: str
    faithfulness_threshold: float
    clock: Callable[[], float] = time.perf_counter


async def handle_job_requested(envelope: Envelope, *, runner: QueryRunner) -> None:
    request = _parse(envelope, JobRequested)
    if request.kind is not JobKind.QUERY:
        raise Reject(f"rag-query handles query jobs, not {request.kind}")
    request_id = request.params.get("request_id")  # the gateway's, to join the two logs
    with structlog.contextvars.bound_contextvars(job_id=request.job_id, kind="query",
                                                 request_id=request_id):
        await _handle(envelope, request, runner)


async def _handle(envelope: Envelope, request: JobRequested, runner: QueryRunner) -> None:
    query_id, bus = request.job_id, runner.bus
    emitter = FrameEmitter(bus, envelope, query_id)
    try:
        params = QueryParams.model_validate(request.params)
    except ValidationError as exc:
        await emitter.error(ErrorCode.INVALID_INPUT, _describe(exc))
        await bus.publish(envelope.follow(_failed(query_id, ErrorCode.INVALID_INPUT, _describe(exc))))
        return
    existing = await runner.repository.get(query_id)
    if existing is not None and existing.status is not QueryStatus.PROCESSING:
        log.info("rag.duplicate_request", status=existing.status.value)
        await bus.publish(envelope.follow(_completed_from(existing)))
        return
    if existing is None:
        await runner.repository.create(NewQuery(
            id=query_id, owner=request.owner, question=params.question,
            filters=params.filters.model_dump() if params.filters else None, created_at=utcnow(),
        ))
    await bus.publish(envelope.follow(
        JobStarted(job_id=query_id, kind=JobKind.QUERY, worker=runner.worker_name)
    ))
    ctx = RunContext(emitter=emitter, cancel=runner.cancels.token(query_id), stream=params.stream,
                     clock=runner.clock)
    started = runner.clock()
    try:
        ctx.cancel.check()
        state: QueryState = await runner.graph.ainvoke(
            {"question": params.question, "filters": params.filters},
            config={"configurable": {"run": ctx}, "recursion_limit": 40},
        )
    except QueryCancelled:
        await _end_badly(envelope, runner, ctx, started, QueryStatus.CANCELLED, ErrorCode.CANCELLED)
        return
    except GenerationFailed as exc:
        await _end_badly(envelope, runner, ctx, started, QueryStatus.FAILED, exc.code, exc.message)
        return
    except DependencyUnavailable as exc:
        log.warning("rag.dependency_unavailable", error=str(exc))
        await _end_badly(envelope, runner, ctx, started, QueryStatus.FAILED,
                         ErrorCode.SERVICE_UNAVAILABLE)
        return
    except Exception:  # noqa: BLE001 - a query must end; retrying a bug would not help it
        log.exception("rag.query_crashed")
        await _end_badly(envelope, runner, ctx, started, QueryStatus.FAILED, ErrorCode.INTERNAL_ERROR)
        return
    await _end_well(envelope, request, params.question, runner, ctx, started, state)


async def _end_well(
    envelope: Envelope, request: JobRequested, question: str, runner: QueryRunner,
    ctx: RunContext, started: float, state: QueryState,
) -> None:
    query_id, bus = request.job_id, runner.bus
    fact = state.get("fact")
    reading = state["understanding"]
    response = state.get("response") or state.get("answer") or ""
    citations = state.get("citations") or []
    latency_ms = round((runner.clock() - started) * 1000)
    metrics = Metrics(
        latency_ms=latency_ms, token_count_input=ctx.tokens_in, token_count_output=ctx.tokens_out,
        retrieval_score=state.get("retrieval_score"),
        faithfulness_score=fact.faithfulness_score if fact else None,
        relevance_score=state.get("relevance_score"),
    )
    trace = ctx.trace.as_dict() | {"route": reading.route.value, "model": ctx.model,
                                   "filters": reading.filters()}
    reason = review_reason(reading.sensitive, metrics.faithfulness_score,
                           runner.faithfulness_threshold)
    status = QueryStatus.HITL_PENDING if reason else QueryStatus.COMPLETED
    await runner.repository.finish(query_id, Outcome(
        status=status, response=None if reason else response, generated_response=response,
        citations=citations, workflow_trace=trace, metrics=metrics.as_dict(),
        completed_at=None if reason else utcnow(), review_reason=reason,
    ))
    if reason:
        await bus.publish(envelope.follow(ReviewRequired(
            query_id=query_id, owner=request.owner, question=question,
            generated_response=response, reason=reason, citations=citations,
            workflow_state={
                "nodes_executed": trace["nodes_executed"],
                "route": trace["route"],
                "fact_check_result": fact.summary(runner.faithfulness_threshold) if fact else None,
            },
        )))
    else:
        for citation in citations:
            await ctx.emitter.citation(citation)
    await ctx.emitter.done(latency_ms, status.value)
    await bus.publish(envelope.follow(JobCompleted(
        job_id=query_id, kind=JobKind.QUERY, outcome="completed",
        result={"id": query_id, "status": status.value},
    )))
    QUERIES.labels(status.value).inc()
    if metrics.faithfulness_score is not None:
        FAITHFULNESS.observe(metrics.faithfulness_score)
    log.info("rag.query_finished", status=status.value, latency_ms=latency_ms,
             faithfulness=metrics.faithfulness_score, review_reason=reason)


def review_reason(sensitive: tuple[str, ...], faithfulness: float | None, threshold: float) -> str | None:
    if sensitive:
        return f"Sensitive topic detected: {', '.join(sensitive)}"
    if faithfulness is not None and faithfulness < threshold:
        return f"Weakly supported answer: faithfulness {faithfulness:.2f} below {threshold:.2f}"
    return None


async def _end_badly(
    envelope: Envelope, runner: QueryRunner, ctx: RunContext, started: float,
    status: QueryStatus, code: ErrorCode, message: str | None = None,
) -> None:
    query_id = ctx.emitter.query_id
    message = message or _MESSAGES.get(code, "The query failed.")
    latency_ms = round((runner.clock() - started) * 1000)
    await runner.repository.finish(query_id, Outcome(
        status=status, response=None, generated_response=None, citations=[],
        workflow_trace=ctx.trace.as_dict() | {"error": {"code": code.value, "message": message}},
        metrics=Metrics(latency_ms, ctx.tokens_in, ctx.tokens_out, None, None).as_dict(),
        completed_at=utcnow(),
    ))
    await ctx.emitter.error(code.value, message)
    await runner.bus.publish(envelope.follow(
        _failed(query_id, code, message, result={"id": query_id, "status": status.value})
    ))
    QUERIES.labels(status.value).inc()
    log.info("rag.query_ended", status=status.value, code=code.value)


def _failed(query_id: str, code: ErrorCode, message: str,
            result: dict[str, Any] | None = None) -> JobCompleted:
    return JobCompleted(
        job_id=query_id, kind=JobKind.QUERY, outcome="failed", result=result,
        error=JobError(error_code=code.value, message=message),
    )


def _completed_from(record: QueryRecord) -> JobCompleted:
    result = {"id": record.id, "status": record.status.value}
    if record.status in (QueryStatus.FAILED, QueryStatus.CANCELLED):
        error = (record.workflow_trace.get("error") or {})
        code = error.get("code", ErrorCode.INTERNAL_ERROR.value)
        return JobCompleted(
            job_id=record.id, kind=JobKind.QUERY, outcome="failed", result=result,
            error=JobError(error_code=code, message=error.get("message", "The query failed.")),
        )
    return JobCompleted(job_id=record.id, kind=JobKind.QUERY, outcome="completed", result=result)


async def handle_review_resolved(envelope: Envelope, *, repository: QueryRepository) -> None:
    resolved = _parse(envelope, ReviewResolved)
    with structlog.contextvars.bound_contextvars(job_id=resolved.query_id):
        record = await repository.resolve_review(resolved.query_id, ReviewDecision(
            decision=resolved.decision, final_response=resolved.final_response,
            reviewed_by=resolved.reviewed_by, notes=resolved.notes, reviewed_at=utcnow(),
        ))
        if record is None:
            # Unknown, or resolved already (a redelivery): nothing to do either way.
            log.info("rag.review_ignored", decision=resolved.decision)
        else:
            log.info("rag.review_applied", decision=resolved.decision, status=record.status.value)


async def handle_job_cancelled(envelope: Envelope, *, cancels: CancelRegistry) -> None:
    cancelled = _parse(envelope, JobCancelled)
    if cancelled.kind is JobKind.QUERY:
        cancels.cancel(cancelled.job_id)
        log.info("rag.cancel_heard", job_id=cancelled.job_id, reason=cancelled.reason)


def _parse(envelope: Envelope, expected: type):
    try:
        payload = envelope.parse()
    except ValueError as exc:
        raise Reject(f"unreadable {envelope.type}: {exc}") from exc
    if not isinstance(payload, expected):
        raise Reject(f"expected {expected.__name__}, got {envelope.type}")
    return payload


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'params'}: {error['msg']}"
        for error in exc.errors()
    )
