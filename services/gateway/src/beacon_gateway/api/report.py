"""The report-section API (frontend contract 000): /generate, /refine, /status/{job_id}.

Served by one plain ASGI layer just outside FastAPI's router instead of as FastAPI routes.
These are the endpoints a frontend submits to and then polls, and FastAPI's per-request
machinery (route context lookups, dependency solving, two exception layers, an exit stack)
cost about a third of their throughput, measured in bench/results/report_api.md. What the
layer does is small and fixed: header checks in the contract's order (401, then 400 for
Session-Id), the body parsed by the contract's pydantic models, one job-store call and, for
a submission, one publish. Everything else (other paths, CORS preflights) goes on to FastAPI.
Their OpenAPI operations are written from the same models in `report_openapi.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from beacon_contracts.events import Envelope, JobError, JobKind, JobRequested
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_contracts.report_api import GenerateRequest, RefineRequest
from beacon_gateway.api.errors import ApiError, error_response, exception_response, plain_errors
from beacon_gateway.api_keys import ApiKeyVerifier
from beacon_gateway.domain import owner_of_api_key, request_fingerprint, status_envelope
from beacon_runtime.bus.port import EventBus
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

STATUS_PREFIX = "/status/"
MAX_JOB_ID_LENGTH = 64
MAX_SESSION_ID_LENGTH = 200


@dataclass(frozen=True)
class ReportDeps:
    jobs: JobStore
    bus: EventBus
    keys: ApiKeyVerifier


@dataclass(frozen=True)
class RouteTemplate:
    """Put in scope["route"] so metrics are labelled by template, as for FastAPI's routes."""

    path: str
    methods: frozenset[str]


GENERATE = RouteTemplate("/generate", frozenset({"POST"}))
REFINE = RouteTemplate("/refine", frozenset({"POST"}))
STATUS = RouteTemplate("/status/{job_id}", frozenset({"GET"}))

_JSON_HEADERS = [(b"content-type", b"application/json")]


def match_route(path: str) -> RouteTemplate | None:
    if path == "/generate":
        return GENERATE
    if path == "/refine":
        return REFINE
    if path.startswith(STATUS_PREFIX) and len(path) > len(STATUS_PREFIX):
        if "/" not in path[len(STATUS_PREFIX):]:
            return STATUS
    return None


class ReportApi:
    """ASGI layer: answers the three report routes, hands every other request to `app`."""

    def __init__(self, app, deps: ReportDeps) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope, receive, send) -> None:
        route = match_route(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            return await self.app(scope, receive, send)
        scope["route"] = route
        if scope["method"] not in route.methods:
            # CORS preflights never get here: CORSMiddleware, outside, answers them.
            allow = ", ".join(sorted(route.methods))
            response = error_response(
                scope, 405, "METHOD_NOT_ALLOWED", "Method Not Allowed", headers={"Allow": allow}
            )
            return await response(scope, receive, send)
        try:
            if route is STATUS:
                status_code, payload = await self.status(scope)
            else:
                body = await _read_body(receive)
                if body is None:
                    return  # the client went away (or BodySizeLimitMiddleware answered 413)
                status_code, payload = await self.submit(scope, route, body)
        except Exception as exc:  # rendered exactly as FastAPI's handlers render it
            return await exception_response(scope, exc)(scope, receive, send)
        await _send_json(send, status_code, payload)

    # handlers ---------------------------------------------------------------------------

    async def status(self, scope) -> tuple[int, dict[str, Any]]:
        """Poll a job: processing, ready (with the result) or error."""
        owner = await self._owner(scope)
        job_id = scope["path"][len(STATUS_PREFIX):]
        job = await self.deps.jobs.get(job_id) if len(job_id) <= MAX_JOB_ID_LENGTH else None
        # Another key's job is reported exactly like a missing one: no existence oracle.
        if job is None or job.owner != owner or job.kind not in (JobKind.GENERATE, JobKind.REFINE):
            raise ApiError(404, "JOB_NOT_FOUND", f"Job {job_id} not found")
        return 200, status_envelope(job).model_dump()

    async def submit(self, scope, route: RouteTemplate, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Start a generate or refine job; the frontend then polls GET /status/{job_id}."""
        owner = await self._owner(scope)
        session_id = _session_id(scope)
        kind, model = (
            (JobKind.GENERATE, GenerateRequest) if route is GENERATE else (JobKind.REFINE, RefineRequest)
        )
        body = _parse(model, raw).model_dump(mode="json")
        params = {"session_id": session_id, **body}
        job = JobRecord(
            job_id=str(uuid.uuid4()),
            kind=kind,
            owner=owner,
            fingerprint=request_fingerprint(owner, session_id, body),
            params=params,
        )
        stored, created = await self.deps.jobs.create(job)
        if not created:
            log.info("job.deduplicated", job_id=stored.job_id, kind=kind.value)
            return 202, _accepted(stored, "Identical job already queued")
        envelope = Envelope.wrap(
            JobRequested(job_id=job.job_id, kind=kind, owner=owner, params=params),
            correlation_id=job.job_id,
        )
        try:
            await self.deps.bus.publish(envelope)
        except Exception as exc:
            # Never leave a job pending that no worker will ever see.
            await self.deps.jobs.transition(
                job.job_id,
                JobStatus.FAILED,
                error=JobError(error_code="SERVICE_UNAVAILABLE", message="Job could not be queued"),
            )
            log.error("job.publish_failed", job_id=job.job_id, error=repr(exc))
            raise ApiError(503, "SERVICE_UNAVAILABLE", "Job queue is unavailable, retry later") from exc
        # DEBUG, like an access log: a line per request was ~15 % of this route's CPU
        # (measured). The job's life is logged at INFO by the worker that runs it, and
        # beacon_http_requests_total counts the 202s.
        log.debug("job.queued", job_id=job.job_id, kind=kind.value)
        return 202, _accepted(job, "Job queued")

    async def _owner(self, scope) -> str:
        """401 unless X-API-Key is one of ours; returns the owner id derived from it."""
        api_key = _header(scope, b"x-api-key")
        if not await self.deps.keys.is_valid(api_key):
            raise ApiError(401, "UNAUTHORIZED", "Missing or invalid X-API-Key")
        return owner_of_api_key(api_key)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:  # ASGI servers give header names in lower case
            return value.decode("latin-1")
    return None


def _session_id(scope) -> str:
    session_id = (_header(scope, b"session-id") or "").strip()
    if not session_id:
        raise ApiError(400, "BAD_REQUEST", "Session-Id is required")
    if len(session_id) > MAX_SESSION_ID_LENGTH:
        raise ApiError(400, "BAD_REQUEST", "Session-Id is too long")
    return session_id


def _parse(model: type[GenerateRequest], raw: bytes) -> GenerateRequest:
    """The body as the contract's model: 400 when it is not JSON, 422 with pydantic's error
    list (locations under "body", as FastAPI reports them) when it breaks the contract."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        if any(error["type"] == "json_invalid" for error in errors):
            raise ApiError(
                400, "BAD_REQUEST", "Request body is not valid JSON", plain_errors(errors)
            ) from None
        raise ApiError(
            422, "VALIDATION_ERROR", "Request validation failed", plain_errors(errors)
        ) from None


async def _read_body(receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _accepted(job: JobRecord, message: str) -> dict[str, Any]:
    return {
        "status": "processing",
        "message": message,
        "data": {"job_id": job.job_id, "status": job.status.value},
    }


async def _send_json(send, status_code: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
