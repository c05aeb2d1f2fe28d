"""The report-section API (frontend contract 000): /generate, /refine, /status/{job_id}."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from beacon_contracts.events import Envelope, JobError, JobKind, JobRequested
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_contracts.report_api import ApiEnvelope, GenerateRequest, RefineRequest
from beacon_gateway.api.errors import ApiError
from beacon_gateway.api_keys import ApiKeyVerifier
from beacon_gateway.domain import (
    owner_of_api_key,
    request_fingerprint,
    status_envelope,
)
from beacon_runtime.bus.port import EventBus
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

_ERROR_RESPONSES = {
    400: {"model": ApiEnvelope, "description": "Session-Id missing or body not JSON"},
    401: {"model": ApiEnvelope, "description": "X-API-Key missing or invalid"},
    413: {"model": ApiEnvelope, "description": "Body too large"},
    422: {"model": ApiEnvelope, "description": "Validation failed; data.details lists why"},
    503: {"model": ApiEnvelope, "description": "Job store or bus unavailable"},
}


@dataclass(frozen=True)
class ReportDeps:
    jobs: JobStore
    bus: EventBus
    keys: ApiKeyVerifier


async def require_owner(request: Request) -> str:
    """401 unless X-API-Key is one of ours; returns the owner id derived from it."""
    deps: ReportDeps = request.app.state.report
    api_key = request.headers.get("x-api-key")
    if not await deps.keys.is_valid(api_key):
        raise ApiError(401, "UNAUTHORIZED", "Missing or invalid X-API-Key")
    return owner_of_api_key(api_key)


async def require_session(request: Request) -> str:
    # async: a plain def would be run in a worker thread on every request.
    session_id = (request.headers.get("session-id") or "").strip()
    if not session_id:
        raise ApiError(400, "BAD_REQUEST", "Session-Id is required")
    if len(session_id) > 200:
        raise ApiError(400, "BAD_REQUEST", "Session-Id is too long")
    return session_id


async def precheck_report_request(request: Request) -> None:
    """Header checks in contract order, reused when the body itself failed to parse."""
    await require_owner(request)
    if request.url.path in ("/generate", "/refine"):
        await require_session(request)


def build_report_router() -> APIRouter:
    router = APIRouter(tags=["report writer"], responses=_ERROR_RESPONSES)

    # Header checks are called inline rather than as Depends: each dependency costs
    # measurable time per request in this FastAPI version, and these are the hot paths.
    # A request whose body fails validation still gets them first (errors.py precheck).

    @router.post("/generate", status_code=202, response_model=ApiEnvelope)
    async def generate(body: GenerateRequest, request: Request) -> JSONResponse:
        """Start drafting one report section; poll GET /status/{job_id}.
        Headers: `X-API-Key`, `Session-Id`."""
        owner = await require_owner(request)
        session_id = await require_session(request)
        return await _submit(request, JobKind.GENERATE, body, owner, session_id)

    @router.post("/refine", status_code=202, response_model=ApiEnvelope)
    async def refine(body: RefineRequest, request: Request) -> JSONResponse:
        """Start refining a section (`original_text` base64) with a prompt.
        Headers: `X-API-Key`, `Session-Id`."""
        owner = await require_owner(request)
        session_id = await require_session(request)
        return await _submit(request, JobKind.REFINE, body, owner, session_id)

    @router.get(
        "/status/{job_id}",
        response_model=ApiEnvelope,
        responses={404: {"model": ApiEnvelope, "description": "Unknown, expired or not yours"}},
    )
    async def status(job_id: str, request: Request):
        """Poll a job: processing, ready (with the result) or error. Header: `X-API-Key`."""
        owner = await require_owner(request)
        deps: ReportDeps = request.app.state.report
        job = await deps.jobs.get(job_id) if len(job_id) <= 64 else None
        # Another key's job is reported exactly like a missing one: no existence oracle.
        if job is None or job.owner != owner or job.kind not in (JobKind.GENERATE, JobKind.REFINE):
            raise ApiError(404, "JOB_NOT_FOUND", f"Job {job_id} not found")
        # Already a valid envelope: returning a Response skips re-validating it.
        return JSONResponse(status_envelope(job).model_dump())

    return router


async def _submit(
    request: Request,
    kind: JobKind,
    body: GenerateRequest | RefineRequest,
    owner: str,
    session_id: str,
) -> JSONResponse:
    deps: ReportDeps = request.app.state.report
    params = {"session_id": session_id, **body.model_dump(mode="json")}
    job = JobRecord(
        job_id=str(uuid.uuid4()),
        kind=kind,
        owner=owner,
        fingerprint=request_fingerprint(owner, session_id, body),
        params=params,
    )
    stored, created = await deps.jobs.create(job)
    if not created:
        log.info("job.deduplicated", job_id=stored.job_id, kind=kind.value)
        return _accepted(stored, "Identical job already queued")

    envelope = Envelope.wrap(
        JobRequested(job_id=job.job_id, kind=kind, owner=owner, params=params),
        correlation_id=job.job_id,
    )
    try:
        await deps.bus.publish(envelope)
    except Exception as exc:
        # Never leave a job pending that no worker will ever see.
        await deps.jobs.transition(
            job.job_id,
            JobStatus.FAILED,
            error=JobError(error_code="SERVICE_UNAVAILABLE", message="Job could not be queued"),
        )
        log.error("job.publish_failed", job_id=job.job_id, error=repr(exc))
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Job queue is unavailable, retry later") from exc
    log.info("job.queued", job_id=job.job_id, kind=kind.value)
    return _accepted(job, "Job queued")


def _accepted(job: JobRecord, message: str) -> JSONResponse:
    envelope = ApiEnvelope(
        status="processing",
        message=message,
        data={"job_id": job.job_id, "status": job.status.value},
    )
    return JSONResponse(envelope.model_dump(), status_code=202)
