"""Pure gateway logic: who owns a job, when two requests are the same, how a job reads."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_contracts.report_api import ApiEnvelope


def request_fingerprint(owner: str, session_id: str, body: dict[str, Any]) -> str:
    """Identical requests (same owner, session and body, as the contract's model dumped it
    to JSON) share one in-flight job."""
    canonical = orjson.dumps([owner, session_id, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def status_envelope(job: JobRecord) -> ApiEnvelope:
    """GET /status/{job_id} as the frontend contract shows it for each state."""
    data: dict[str, Any] = {"job_id": job.job_id, "status": job.status.value}
    if job.status is JobStatus.COMPLETED:
        data["result"] = job.result or {}
        return ApiEnvelope(status="ready", message="Job completed", data=data)
    if job.status is JobStatus.FAILED:
        error = job.error
        data["error"] = (
            error.model_dump()
            if error
            else {"error_code": "INTERNAL_ERROR", "message": "Job failed"}
        )
        return ApiEnvelope(status="error", message="Job failed", data=data)
    return ApiEnvelope(status="processing", message="Job processing", data=data)
