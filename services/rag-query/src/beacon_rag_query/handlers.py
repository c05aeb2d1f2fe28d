"""Bus handlers: a query job in; JobStarted, QueryFrames and exactly one JobCompleted out.
Reviews resolved and cancellations in.

An answer that needs a human review is held: rag-query stores it `hitl_pending`, publishes
ReviewRequired and a `review` node frame (status `pending`), and the job stays open. The
ReviewResolved that hitl publishes later completes the query, sends the rest of the stream
(`token`, `citation`, `done`) and the job's one JobCompleted.

Every write happens before the publish that announces it. A redelivered request whose query
already ended republishes its JobCompleted and nothing else; one whose answer is held asks
for its review again; one that died mid-run (still `processing`) runs again from the start.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from langgraph.graph.state import CompiledStateGraph

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import (
    Envelope,
    JobCancelled,
    JobCompleted,
    JobError,
    JobKind,
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
    QueryRecord,
    QueryStatus,
    ReviewDecision,
    resolve,
)
from beacon_rag_query.frames import CancelRegistry, FrameEmitter, QueryCancelled
from beacon_rag_query.graph import GenerationFailed, QueryState, RunContext
from beacon_rag_query.metrics import FAITHFULNESS, HELD, QUERIES
from beacon_rag_query.repository import QueryRepository
from beacon_runtime.bus.port import EventBus
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


async def handle_question(command: AnswerQuestion, envelope: Envelope, *,
                          runner: QueryRunner) -> None:
    # request_id is the gateway's, to join the two logs.
    with structlog.contextvars.bound_contextvars(job_id=command.job_id, kind="query",
                                                 request_id=command.request_id):
        await _handle(envelope, command, runner)


async def _handle(envelope: Envelope, request: AnswerQuestion, runner: QueryRunner) -> None:
    query_id, bus = request.job_id, runner.bus
    emitter = FrameEmitter(bus, envelope, query_id)
    existing = await runner.repository.get(query_id)
    if existing is not None and existing.status is QueryStatus.HITL_PENDING:
        # Held already; maybe the review request was lost in a crash: ask again.
        log.info("rag.duplicate_request", status=existing.status.value)
        await _ask_review(envelope, runner, existing)
        return
    if existing is not None and existing.status is not QueryStatus.PROCESSING:
        log.info("rag.duplicate_request", status=existing.status.value)
        await bus.publish(envelope.follow(_completed_from(existing)))
        return
    if existing is None:
        await runner.repository.create(NewQuery(
            id=query_id, owner=request.owner, question=request.question,
            filters=request.filters.model_dump() if request.filters else None, created_at=utcnow(),
        ))
    await bus.publish(envelope.follow(
        JobStarted(job_id=query_id, kind=JobKind.QUERY, worker=runner.worker_name)
    ))
    ctx = RunContext(emitter=emitter, cancel=runner.cancels.token(query_id), stream=request.stream,
                     clock=runner.clock)
    started = runner.clock()
    try:
        ctx.cancel.check()
        state: QueryState = await runner.graph.ainvoke(
            {"question": request.question, "filters": request.filters},
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
    await _end_well(envelope, request, runner, ctx, started, state)


async def _end_well(
    envelope: Envelope, request: AnswerQuestion, runner: QueryRunner,
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
    if metrics.faithfulness_score is not None:
        FAITHFULNESS.observe(metrics.faithfulness_score)
    if reason:
        await _hold(envelope, runner, ctx, Outcome(
            status=QueryStatus.HITL_PENDING, response=None, generated_response=response,
            citations=citations, metrics=metrics.as_dict(), completed_at=None,
            workflow_trace=trace | {
                "fact_check_result": fact.summary(runner.faithfulness_threshold) if fact else None,
                "streamed_chars": ctx.emitter.token_chars,
            },
            review_reason=reason, review_id=str(uuid.uuid4()),
            frame_seq=ctx.emitter.seq + 1,  # after the review's `pending` node frame
        ))
        log.info("rag.query_held", latency_ms=latency_ms, review_reason=reason,
                 faithfulness=metrics.faithfulness_score)
        return
    await runner.repository.finish(query_id, Outcome(
        status=QueryStatus.COMPLETED, response=response, generated_response=response,
        citations=citations, workflow_trace=trace, metrics=metrics.as_dict(),
        completed_at=utcnow(),
    ))
    for citation in citations:
        await ctx.emitter.citation(citation)
    await ctx.emitter.done(latency_ms, QueryStatus.COMPLETED.value)
    await bus.publish(envelope.follow(_completed(query_id)))
    QUERIES.labels(QueryStatus.COMPLETED.value).inc()
    log.info("rag.query_finished", status="completed", latency_ms=latency_ms,
             faithfulness=metrics.faithfulness_score)


async def _hold(envelope: Envelope, runner: QueryRunner, ctx: RunContext, outcome: Outcome) -> None:
    """Keep the answer back until a reviewer decides: store it, ask for the review, tell the
    client it waits. The job stays open: `done` and JobCompleted come with the decision."""
    query_id = ctx.emitter.query_id
    await runner.repository.finish(query_id, outcome)
    record = await runner.repository.get(query_id)
    if record is not None and record.status is QueryStatus.HITL_PENDING:
        await _ask_review(envelope, runner, record)
        HELD.inc()


async def _ask_review(envelope: Envelope, runner: QueryRunner, record: QueryRecord) -> None:
    """ReviewRequired, then the `pending` node frame (at the seq before `frame_seq`). Both are
    the same every time, so a redelivered request may send them again: hitl keeps one review
    per query and the gateway's readers drop a frame seen before."""
    trace = record.workflow_trace
    await runner.bus.publish(envelope.follow(ReviewRequired(
        review_id=record.review_id, query_id=record.id, owner=record.owner,
        question=record.question, generated_response=record.generated_response or "",
        reason=record.review_reason or "", citations=record.citations,
        workflow_state={"nodes_executed": trace.get("nodes_executed", []),
                        "route": trace.get("route"),
                        "fact_check_result": trace.get("fact_check_result")},
    )))
    emitter = FrameEmitter(runner.bus, envelope, record.id, first_seq=record.frame_seq - 1)
    await emitter.review_pending(record.review_id, record.review_reason or "")


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


def _completed(query_id: str) -> JobCompleted:
    return JobCompleted(job_id=query_id, kind=JobKind.QUERY, outcome="completed",
                        result={"id": query_id, "status": QueryStatus.COMPLETED.value})


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


async def handle_review_resolved(resolved: ReviewResolved, envelope: Envelope, *,
                                 runner: QueryRunner) -> None:
    """Finish a held query with what its review let out, then send the rest of its stream
    and JobCompleted. A redelivery (or a second copy from hitl) finds the query completed by
    this review and sends the same frames and JobCompleted again: both are idempotent."""
    repository = runner.repository
    with structlog.contextvars.bound_contextvars(job_id=resolved.query_id,
                                                 review_id=resolved.review_id):
        record = await repository.get(resolved.query_id)
        if record is None or (record.review_id or resolved.review_id) != resolved.review_id:
            log.info("rag.review_ignored", reason="unknown query or review")
            return
        if record.status is QueryStatus.HITL_PENDING:
            resolution = resolve(record, ReviewDecision(
                decision=resolved.decision, final_response=resolved.final_response,
                reviewed_by=resolved.reviewed_by, notes=resolved.notes,
                reviewed_at=resolved.reviewed_at or utcnow(),
                review_id=resolved.review_id,
            ))
            applied = await repository.resolve_review(record.id, resolution)
            if applied is not None:
                QUERIES.labels(applied.status.value).inc()
                log.info("rag.review_applied", decision=resolved.decision,
                         reviewed_by=resolved.reviewed_by)
            record = applied or await repository.get(record.id)
        if record is None or record.status is not QueryStatus.COMPLETED or not record.review:
            log.info("rag.review_ignored", reason="query not held")
            return
        await _release(envelope, runner, record)


async def _release(envelope: Envelope, runner: QueryRunner, record: QueryRecord) -> None:
    """The frames after the review: the review node completed, the final text as tokens
    (unless a draft was streamed before the hold: then the node frame carries the text that
    replaces it), the citations and `done`; then JobCompleted."""
    review = {"decision": record.review["decision"], "reviewed_by": record.review["reviewed_by"]}
    emitter = FrameEmitter(runner.bus, envelope, record.id, first_seq=record.frame_seq or 0)
    streamed = bool(record.workflow_trace.get("streamed_chars"))
    node = {"node": "review", "status": "completed", "review_id": record.review_id, **review}
    await emitter.emit("node", node | ({"response": record.response} if streamed else {}))
    if not streamed and record.response:
        await emitter.token(record.response)
    for citation in record.citations:
        await emitter.citation(citation)
    await emitter.done(record.latency_ms or 0, record.status.value, review=review)
    await runner.bus.publish(envelope.follow(_completed(record.id)))


async def handle_job_cancelled(cancelled: JobCancelled, envelope: Envelope, *,
                               cancels: CancelRegistry) -> None:
    if cancelled.kind is JobKind.QUERY:
        cancels.cancel(cancelled.job_id)
        log.info("rag.cancel_heard", job_id=cancelled.job_id, reason=cancelled.reason)

