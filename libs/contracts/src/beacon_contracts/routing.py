"""Routing keys on the topic exchange. One function decides them, so publishers and
subscribers can never disagree."""

from beacon_contracts.events import Envelope

EXCHANGE = "beacon.events"

_BY_TYPE = {
    "JobStarted": "job.started",
    "JobProgress": "job.progress",
    "JobCompleted": "job.completed",
    "JobCancelled": "job.cancelled",
    "DocumentIngested": "document.ingested",
    "ReviewRequired": "review.required",
    "ReviewResolved": "review.resolved",
    "QueryFrame": "query.frame",
}


def routing_key(envelope: Envelope) -> str:
    """`job.requested.<kind>` for commands, a fixed key per event type otherwise."""
    if envelope.type == "JobRequested":
        return f"job.requested.{envelope.payload['kind']}"
    return _BY_TYPE[envelope.type]


def job_requested(kind: str) -> str:
    return f"job.requested.{kind}"


JOB_STARTED = _BY_TYPE["JobStarted"]
JOB_PROGRESS = _BY_TYPE["JobProgress"]
JOB_COMPLETED = _BY_TYPE["JobCompleted"]
JOB_CANCELLED = _BY_TYPE["JobCancelled"]
DOCUMENT_INGESTED = _BY_TYPE["DocumentIngested"]
REVIEW_REQUIRED = _BY_TYPE["ReviewRequired"]
REVIEW_RESOLVED = _BY_TYPE["ReviewResolved"]
QUERY_FRAME = _BY_TYPE["QueryFrame"]


# Queues that must exist before their consumer ever started, so that a command published
# first is kept, not dropped as unroutable. Every bus declares them at start; each worker
# subscribes with exactly these patterns (tests/unit/test_command_queues.py checks it).
COMMAND_QUEUES: dict[str, tuple[str, ...]] = {
    "report-writer": (job_requested("generate"), job_requested("refine")),
    "rag-query": (job_requested("query"), REVIEW_RESOLVED),
    "ingestion": (job_requested("ingest"), job_requested("bootstrap")),
    "hitl": (REVIEW_REQUIRED,),
}
