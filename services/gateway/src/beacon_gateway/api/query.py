"""Questions: POST /api/v1/query (waits), POST /api/v1/query/stream (SSE) and the resume
endpoint GET /api/v1/query/stream/{query_id} (send Last-Event-ID)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope, JobCancelled, JobError, JobKind
from beacon_contracts.jobs import JobRecord
from beacon_contracts.research_api import QueryAccepted, QueryRequest, QueryResult
from beacon_contracts.text import Line
from beacon_gateway.api.errors import ApiError
from beacon_gateway.api.forward import forward_request
from beacon_gateway.api.policy import EVERYONE, PublicRoute, allow
from beacon_gateway.frames import TERMINAL_EVENTS, FrameLog
from beacon_gateway.repository import Role, User
from beacon_gateway.watchdog import JobCanceller
from beacon_runtime.bus.port import EventBus
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.logs import get_logger

log = get_logger(__name__)


@dataclass
class QueryDeps:
    jobs: JobStore
    bus: EventBus
    frames: FrameLog
    pending_cancels: set[asyncio.Task]
    canceller: JobCanceller
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the grace period's clock
    clock: Callable[[], float] = time.monotonic  # a stream's idle timeout and lifetime cap


SSE = {200: {"description": "Server-Sent Events: node, token, citation, then done or error",
             "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def build_query_router() -> APIRouter:
    router = APIRouter(route_class=PublicRoute, tags=["query"])

    @router.post("/api/v1/query", response_model=QueryResult, responses={202: {
        "model": QueryAccepted, "description": "Still running after QUERY_TIMEOUT_S"}},
        **allow(EVERYONE, bucket="query"))
    async def submit(body: QueryRequest, request: Request) -> Response:
        """Ask a question and wait for the answer (up to QUERY_TIMEOUT_S). An answer held
        for a human review comes back at once with status `hitl_pending`: poll
        GET /query/{id}, or attach to GET /query/stream/{id}, for the reviewed answer."""
        settings = request.app.state.research.settings
        query_id = await _start_query(request, body, stream=False)
        frames = _deps(request).frames.follow(query_id, idle_timeout_s=settings.query_timeout_s)
        try:
            async with asyncio.timeout(settings.query_timeout_s):
                async for _frame in frames:
                    if frames.held:
                        break
        except TimeoutError:
            # Still running: the client can poll GET /query/{id} or attach to the stream.
            return JSONResponse({"id": query_id, "status": "processing"}, status_code=202)
        return await forward_request(request, "rag-query", path=f"/api/v1/query/{query_id}", method="GET")

    @router.post("/api/v1/query/stream", response_class=EventSourceResponse, responses=SSE,
                 **allow(EVERYONE, bucket="query_stream"))
    async def stream(body: QueryRequest, request: Request) -> EventSourceResponse:
        """Ask a question and receive the workflow as Server-Sent Events:
        `node`, `token`, `citation`, then `done` (or `error`). Each event's id is its
        sequence number: reconnect to /query/stream/{id} with Last-Event-ID to resume."""
        query_id = await _start_query(request, body, stream=True)
        return _relay(request, query_id, after_seq=-1)

    @router.get("/api/v1/query/stream/{query_id}", response_class=EventSourceResponse,
                responses=SSE, **allow(EVERYONE))
    async def resume(
        query_id: Line, request: Request, last_event_id: Line | None = Header(default=None)
    ) -> EventSourceResponse:
        """Re-attach to a query's stream, after the event id given in Last-Event-ID."""
        job = await _deps(request).jobs.get(query_id) if len(query_id) <= 64 else None
        user: User = request.state.user
        if job is None or job.kind is not JobKind.QUERY or (
            job.owner != _owner(user) and user.role is not Role.ADMIN
        ):
            raise ApiError(404, "NOT_FOUND", f"Query {query_id} not found")
        after = int(last_event_id) if last_event_id and last_event_id.strip().isdigit() else -1
        return _relay(request, query_id, after_seq=after)

    return router


def _deps(request: Request) -> QueryDeps:
    return request.app.state.query


def _owner(user: User) -> str:
    return str(user.id)


async def _start_query(request: Request, body: QueryRequest, *, stream: bool) -> str:
    """The endpoint decides whether tokens are streamed, whatever the body's `stream` says."""
    deps = _deps(request)
    user: User = request.state.user
    query_id = str(uuid.uuid4())
    command = AnswerQuestion(
        job_id=query_id, owner=_owner(user), question=body.question, filters=body.filters,
        stream=stream, request_id=request.scope["state"]["request_id"],
    )
    job = JobRecord(job_id=query_id, kind=JobKind.QUERY, owner=command.owner,
                    params=command.model_dump(mode="json", include={"question", "filters", "stream"}))
    await deps.jobs.create(job)
    try:
        await deps.bus.publish(Envelope.wrap(command, correlation_id=query_id))
    except Exception as exc:
        await deps.canceller.fail(query_id, JobKind.QUERY, JobError(
            error_code="SERVICE_UNAVAILABLE", message="Query could not be queued"),
            reason="publish not confirmed")
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Query queue is unavailable, retry later") from exc
    log.info("query.queued", job_id=query_id)
    return query_id


def _relay(request: Request, query_id: str, *, after_seq: int) -> EventSourceResponse:
    deps = _deps(request)
    settings = request.app.state.research.settings

    async def events():
        finished = False
        await deps.frames.mark_attached(query_id)
        # Past the lifetime cap the stream ends without `done`; the client resumes with
        # Last-Event-ID (a review may take hours: the cap applies while one waits, too).
        frames = deps.frames.follow(query_id, after_seq=after_seq,
                                    idle_timeout_s=settings.sse_idle_timeout_s,
                                    until=deps.clock() + settings.sse_max_lifetime_s,
                                    clock=deps.clock)
        try:
            async for frame in frames:
                yield {"event": frame.event, "id": str(frame.seq), "data": json.dumps(frame.data)}
                if frame.event in TERMINAL_EVENTS:
                    finished = True
                    return
        except TimeoutError:
            finished = True
            yield {"event": "error", "data": json.dumps(
                {"code": "TIMEOUT", "message": "The answer stopped progressing"})}
        finally:
            # A held answer is no longer being worked on: leaving it cancels nothing.
            if not finished and not frames.held:
                _cancel_later(deps, query_id, settings.sse_cancel_grace_s)

    return EventSourceResponse(
        events(), ping=settings.sse_ping_s, headers={"X-Query-Id": query_id, "Cache-Control": "no-store"}
    )


def _cancel_later(deps: QueryDeps, query_id: str, grace_s: float) -> None:
    """The client left mid-answer. Unless it re-attaches within the grace period (on any
    replica: attachment is recorded in the frame log), tell the worker to stop."""
    left_at = time.time()

    async def cancel() -> None:
        await deps.sleep(grace_s)
        attached = await deps.frames.last_attached(query_id)
        if attached is not None and attached > left_at:
            return
        await deps.bus.publish(Envelope.wrap(
            JobCancelled(job_id=query_id, kind=JobKind.QUERY, reason="client disconnected"),
            correlation_id=query_id,
        ))
        log.info("query.cancelled", job_id=query_id)

    task = asyncio.create_task(cancel())
    deps.pending_cancels.add(task)
    task.add_done_callback(deps.pending_cancels.discard)
