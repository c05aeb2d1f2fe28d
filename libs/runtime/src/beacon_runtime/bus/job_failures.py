"""A job request that will never be handled must still end its job, visibly."""

from __future__ import annotations

from beacon_contracts.events import EVENT_TYPES, Envelope, JobCompleted, JobError, JobKind
from beacon_runtime.bus.port import Reject

# Dead-letter reasons (bus/topology.py REASON_HEADER) and the error code the client sees.
_CODES = {"rejected": "INVALID_INPUT", "malformed": "INVALID_INPUT", "exhausted": "INTERNAL_ERROR"}


def job_failed(envelope: Envelope, error_code: str, message: str) -> Envelope | None:
    """The JobCompleted(failed) that ends the job of the JobRequested `envelope` (or of a
    message of a type nobody knows that names a job and its kind: a request a worker could
    not read), or None for any known event (events are facts: their consumer's dead letter
    ends nothing). The gateway applies it like any worker's failure: the first terminal
    event wins."""
    if envelope.type in EVENT_TYPES:
        return None
    job_id, kind = envelope.payload.get("job_id"), envelope.payload.get("kind")
    if not isinstance(job_id, str) or kind not in set(JobKind):
        return None
    return envelope.follow(JobCompleted(
        job_id=job_id, kind=JobKind(kind), outcome="failed",
        error=JobError(error_code=error_code, message=message),
    ))


def failure_of_dead_letter(envelope: Envelope, reason: str, attempts: int,
                           exc: BaseException | None = None) -> Envelope | None:
    """A request a worker rejected, or that failed on every attempt, is never pending for
    ever. An operator replaying the dead letter later runs it, but the job stays failed.
    A `Reject`'s words are the client's (the dispatcher's name the invalid fields)."""
    code = _CODES.get(reason, "INTERNAL_ERROR")
    if code != "INVALID_INPUT":
        message = f"The job failed on each of its {attempts} attempts"
    elif isinstance(exc, Reject) and str(exc):
        message = str(exc)
    else:
        message = "The job request was refused by its worker"
    return job_failed(envelope, code, message)


def failure_of_cancelled(envelope: Envelope) -> Envelope | None:
    """A request skipped because its job was cancelled before it ran."""
    return job_failed(envelope, "CANCELLED", "The job was cancelled before it ran")
