"""The report-section API (frontend contract 000): POST /generate, POST /refine and
GET /status/{job_id}. A submission stores a job and publishes JobRequested; the frontend
then polls the status route while a worker drafts the section."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from beacon_contracts.commands import GenerateSection, RefineSection
from beacon_contracts.events import Envelope, JobError, JobKind
from beacon_contracts.jobs import JobRecord
from beacon_contracts.report_api import (
    AcceptedEnvelope,
    ErrorEnvelope,
    GenerateRequest,
    RefineRequest,
    StatusEnvelope,
)
from beacon_contracts.text import LINE_PATTERN, is_line
from beacon_gateway.api.errors import ApiError
from beacon_gateway.api.policy import API_KEY, API_KEY_AND_SESSION, PublicRoute, allow
from beacon_gateway.api_keys import ApiKeyVerifier
from beacon_gateway.domain import request_fingerprint, status_envelope
from beacon_gateway.watchdog import JobCanceller
from beacon_runtime.bus.port import EventBus
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

MAX_JOB_ID_LENGTH = 64
_COMMANDS = {JobKind.GENERATE: GenerateSection, JobKind.REFINE: RefineSection}
# Documented like every identifier; one that does not look like a job id is a job that does
# not exist (404, as the contract answers for an unknown job), never looked up.
JobId = Annotated[str, Path(json_schema_extra={"pattern": LINE_PATTERN, "maxLength": MAX_JOB_ID_LENGTH})]


@dataclass(frozen=True)
class ReportDeps:
    jobs: JobStore
    bus: EventBus
    keys: ApiKeyVerifier
    canceller: JobCanceller


def build_report_router() -> APIRouter:
    # A body without Content-Type is read as JSON, as the frontend's plain fetch() sends it.
    router = APIRouter(route_class=PublicRoute, tags=["report writer"], strict_content_type=False)

    @router.post("/generate", status_code=202, response_model=AcceptedEnvelope,
                 **allow(API_KEY_AND_SESSION))
    async def generate(body: GenerateRequest, request: Request) -> Response:
        """Start drafting one report section; poll GET /status/{job_id}."""
        return await _submit(request, JobKind.GENERATE, body)

    @router.post("/refine", status_code=202, response_model=AcceptedEnvelope,
                 **allow(API_KEY_AND_SESSION))
    async def refine(body: RefineRequest, request: Request) -> Response:
        """Start refining a section (`original_text`, base64) as `prompt` asks."""
        return await _submit(request, JobKind.REFINE, body)

    @router.get("/status/{job_id}", response_model=StatusEnvelope, **allow(API_KEY), responses={
        404: {"model": ErrorEnvelope, "description": "Unknown, expired or another key's job"}})
    async def status(job_id: JobId, request: Request) -> Response:
        """Poll a job: processing, ready (with the result) or error."""
        deps: ReportDeps = request.app.state.report
        valid = len(job_id) <= MAX_JOB_ID_LENGTH and is_line(job_id)
        job = await deps.jobs.get(job_id) if valid else None
        # Another key's job is reported exactly like a missing one: no existence oracle.
        if job is None or job.owner != request.state.owner or job.kind not in (
            JobKind.GENERATE, JobKind.REFINE
        ):
            raise ApiError(404, "JOB_NOT_FOUND", f"Job {job_id} not found")
        return _json(200, status_envelope(job).model_dump())

    return router


async def _submit(request: Request, kind: JobKind, request_body: GenerateRequest) -> Response:
    deps: ReportDeps = request.app.state.report
    owner: str = request.state.owner
    session_id: str = request.state.session_id  # checked by the route's policy
    body = request_body.model_dump(mode="json")
    job = JobRecord(
        job_id=str(uuid.uuid4()), kind=kind, owner=owner,
        fingerprint=request_fingerprint(owner, session_id, body),
        params={"session_id": session_id, **body},
    )
    stored, created = await deps.jobs.create(job)
    if not created:
        log.info("job.deduplicated", job_id=stored.job_id, kind=kind.value)
        return _accepted(stored, "Identical job already queued")
    command = _COMMANDS[kind](job_id=job.job_id, owner=owner, session_id=session_id,
                              request=request_body,
                              request_id=request.scope["state"].get("request_id"))
    envelope = Envelope.wrap(command, correlation_id=job.job_id)
    try:
        await deps.bus.publish(envelope)
    except Exception as exc:
        # Never leave a job pending that no worker will ever see, and never let a worker
        # draft one the client was told failed (an unconfirmed publish may have arrived).
        await deps.canceller.fail(job.job_id, kind, JobError(
            error_code="SERVICE_UNAVAILABLE", message="Job could not be queued"),
            reason="publish not confirmed")
        log.error("job.publish_failed", job_id=job.job_id, error=repr(exc))
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Job queue is unavailable, retry later") from exc
    # DEBUG, like an access log: the job's life is logged at INFO by the worker that runs
    # it, and beacon_http_requests_total counts the 202s.
    log.debug("job.queued", job_id=job.job_id, kind=kind.value)
    return _accepted(job, "Job queued")


def _accepted(job: JobRecord, message: str) -> Response:
    return _json(202, {"status": "processing", "message": message,
                       "data": {"job_id": job.job_id, "status": job.status.value}})


def _json(status_code: int, payload: dict[str, Any]) -> Response:
    """orjson straight to bytes: the route's response_model documents the shape, and the
    OpenAPI conformance test (tests/fuzz) checks that answers match it."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")
