"""One ingestion run: the stages in order, from the first one not completed.

What the bus already gives is not repeated here: a handler that raises is delivered again
with back-off (BUS_MAX_ATTEMPTS, BUS_RETRY_BASE_DELAY_S), and a message whose worker died
is redelivered. What is left is what the bus cannot know (docs/ingestion.md, "Run"):

- Stage rows say which stages are done (the status endpoint shows them), so a redelivery
  resumes at the stage that failed; each stage left its result where the next one reads it.
- A run counts its attempts on the document. The run that reaches BUS_MAX_ATTEMPTS fails
  the document with the reason instead of raising, so the bus never dead-letters a document
  that would then stay `processing`. Bad input (PermanentStageError) fails it at once.
- A stage that reports no progress for STAGE_STALL_TIMEOUT_S is cancelled: the attempt
  fails and the bus delivers it again (or, after the last attempt, the document fails).
- One run at a time per document (`repo.hold`, a lock that dies with its holder): a second
  delivery of the same document while it runs is dropped, since the running one's own
  message is still unacknowledged and will be retried if that run fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from beacon_contracts.events import Envelope
from beacon_runtime.bus.port import EventBus
from beacon_runtime.logs import get_logger

from beacon_ingestion.domain import (
    STAGES,
    Document,
    DocumentStatus,
    StageRecord,
    StageState,
    utcnow,
)
from beacon_ingestion.metrics import observed_stage
from beacon_ingestion.pipeline.errors import PermanentStageError, StageStalled
from beacon_ingestion.pipeline.events import RunEvents
from beacon_ingestion.pipeline.stages import Heartbeat, StageFn, StageOutcome, Stages
from beacon_ingestion.repository.port import IngestionRepository
from beacon_ingestion.settings import IngestionSettings

log = get_logger(__name__)


class AttemptFailed(Exception):
    """A stage failed and the run has attempts left: raised to the bus, which retries."""


@dataclass
class Pipeline:
    settings: IngestionSettings
    repo: IngestionRepository
    stages: Stages
    bus: EventBus
    # Test seam: wraps each stage function (e.g. to inject a failure in one stage).
    stage_wrapper: Callable[[str, StageFn], StageFn] | None = None
    # The stall watchdog's time: `clock` reads it, `sleep` waits on it. Real time by default;
    # a test passes a clock it moves itself, so a stall is decided by the test, not the machine.
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _stage_fns: dict[str, StageFn] = field(init=False)

    def __post_init__(self) -> None:
        self._stage_fns = self.stages.by_name()

    async def run(self, document_id: int, cause: Envelope | None = None) -> None:
        document = await self.repo.get_document(document_id)
        if document is None:
            log.warning("ingest.unknown_document", document_id=document_id)
            return
        if document.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED):
            log.info("ingest.already_final", document_id=document_id, status=document.status.value)
            return
        async with self.repo.hold(document_id) as held:
            if not held:
                log.info("ingest.held_elsewhere", document_id=document_id)
                return
            await self._run(document_id, cause)

    async def _run(self, document_id: int, cause: Envelope | None) -> None:
        events = RunEvents(self.bus, document_id, cause)
        attempt = await self.repo.start_attempt(document_id, utcnow())
        stages = await self.repo.stages(document_id)
        for stage in STAGES:
            if stages[stage].state == StageState.COMPLETED:
                continue
            document = await self.repo.get_document(document_id)
            assert document is not None
            outcome = await self._run_stage(document, stages[stage], attempt, events)
            if outcome is None:
                return  # failed: the document and its events are settled
            if outcome.finished:
                break
        await self._complete(document_id, events)

    async def _run_stage(self, document: Document, record: StageRecord, attempt: int,
                         events: RunEvents) -> StageOutcome | None:
        fn = self._stage_fns[record.stage]
        if self.stage_wrapper is not None:
            fn = self.stage_wrapper(record.stage, fn)
        record.attempts += 1
        record.state, record.started_at = StageState.IN_PROGRESS, utcnow()
        record.finished_at = record.error = None
        await self.repo.save_stage(document.id, record)
        await events.progress(record.stage, "in_progress", f"attempt {record.attempts}")
        try:
            with observed_stage(record.stage, document.id, attempt):
                outcome = await self._watch(document, fn)
        except PermanentStageError as exc:
            await self._fail(document, record, str(exc), events)
            return None
        except Exception as exc:  # noqa: BLE001 - any other failure is worth another attempt
            reason = str(exc) or exc.__class__.__name__
            log.warning("ingest.stage_failed", document_id=document.id, stage=record.stage,
                        attempt=attempt, error=reason)
            if attempt >= self.settings.bus_max_attempts:
                attempts = f"{attempt} attempt{'s' if attempt > 1 else ''}"
                await self._fail(document, record, f"{record.stage} failed after {attempts}: {reason}",
                                 events)
                return None
            record.state, record.error, record.finished_at = StageState.FAILED, reason, utcnow()
            await self.repo.save_stage(document.id, record)
            await events.progress(record.stage, "failed", f"{reason}; retrying")
            raise AttemptFailed(f"{record.stage}: {reason}") from exc
        record.state, record.detail, record.finished_at = StageState.COMPLETED, outcome.detail, utcnow()
        await self.repo.save_stage(document.id, record)
        await events.progress(record.stage, "completed", outcome.detail)
        return outcome

    async def _watch(self, document: Document, fn: StageFn) -> StageOutcome:
        """Run the stage; cancel it when it has reported no progress for the stall timeout."""
        stall = self.settings.stage_stall_timeout_s
        heartbeat = Heartbeat(self.clock)
        task = asyncio.create_task(fn(document, heartbeat))
        timer: asyncio.Future | None = None
        try:
            while True:
                silent = self.clock() - heartbeat.last
                timer = asyncio.ensure_future(self.sleep(max(0.01, stall - silent)))
                await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    return task.result()
                if self.clock() - heartbeat.last >= stall:
                    raise StageStalled(f"no progress for {stall:g}s")
        finally:
            for pending in (task, timer):
                if pending is not None and not pending.done():
                    pending.cancel()
                    await asyncio.gather(pending, return_exceptions=True)

    async def _fail(self, document: Document, record: StageRecord, reason: str, events: RunEvents) -> None:
        record.state, record.error, record.finished_at = StageState.FAILED, reason, utcnow()
        await self.repo.save_stage(document.id, record)
        await self.repo.update_document(document.id, status=DocumentStatus.FAILED, error=reason,
                                        completed_at=utcnow())
        log.error("ingest.failed", document_id=document.id, stage=record.stage, reason=reason)
        await events.progress(record.stage, "failed", reason)
        await events.completed(failed=reason)

    async def _complete(self, document_id: int, events: RunEvents) -> None:
        await self.repo.update_document(document_id, status=DocumentStatus.COMPLETED, completed_at=utcnow())
        document = await self.repo.get_document(document_id)
        assert document is not None
        log.info("ingest.completed", document_id=document_id, chunks=document.chunk_count,
                 pages=document.page_count, duplicate_of=document.duplicate_of)
        await events.ingested(document)
        await events.completed(result={"document_id": document_id, "chunk_count": document.chunk_count,
                                       "page_count": document.page_count,
                                       "duplicate_of": document.duplicate_of})
