"""Apply workers' job events to the job store. The gateway is its only writer.

The runtime's dispatcher parsed each event already (beacon_runtime.bus.dispatch)."""

from __future__ import annotations

from collections.abc import Collection

from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobStarted, QueryFrame
from beacon_gateway.frames import Frame, FrameLog
from beacon_contracts.jobs import JobStatus
from beacon_runtime.bus.port import RetryLater
from beacon_runtime.jobs.port import JobStore, JobStoreUnavailable
from beacon_runtime.logs import get_logger

log = get_logger(__name__)


async def apply_job_event(
    event: JobStarted | JobCompleted, envelope: Envelope, *, jobs: JobStore,
    watched: Collection[JobKind] = (),
) -> None:
    """`watched`: kinds the watchdog guards; their JobStarted (every delivery sends one,
    applied or not) is the job's heartbeat."""
    try:
        if isinstance(event, JobStarted):
            job, changed = await jobs.transition(event.job_id, JobStatus.PROCESSING)
            if job is not None and event.kind in watched:
                await jobs.heartbeat(event.job_id)
        else:
            status = JobStatus.COMPLETED if event.outcome == "completed" else JobStatus.FAILED
            job, changed = await jobs.transition(
                event.job_id, status, result=event.result, error=event.error
            )
    except JobStoreUnavailable as exc:
        # Not the event's fault: wait for the store however long it is down, never
        # dead-letter (a lost JobCompleted would leave its job pending for good).
        raise RetryLater(f"job store unavailable: {exc}") from exc
    # Other services' jobs (e.g. ingestion's doc-N) also travel on job.*: not ours to track.
    (log.info if job is not None else log.debug)(
        "job.event_applied",
        job_id=event.job_id,
        event_type=envelope.type,
        applied=changed,
        known=job is not None,
    )


async def append_query_frame(event: QueryFrame, envelope: Envelope, *, frames: FrameLog) -> None:
    """Frames may arrive out of order or twice; the log's readers sort that out."""
    await frames.append(event.query_id, Frame(event.seq, event.event, event.data))
