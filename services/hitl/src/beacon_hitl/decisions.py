"""What the review service does: file the reviews rag-query asks for, record reviewers'
decisions, expire the reviews nobody decided in time, and tell rag-query how each one ended.

The outcome reaches rag-query as one ReviewResolved per review, published after the decision
is stored (publish after the write). A publish that fails leaves the review unconfirmed, and
the periodic sweep publishes it again, so a broker outage delays an outcome but never loses
it. A second copy is harmless: rag-query applies a review once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from beacon_contracts.events import Envelope, ReviewRequired, ReviewResolved, utcnow
from beacon_hitl.domain import (
    Action,
    Decision,
    ExpiryPolicy,
    NewReview,
    Review,
    ReviewStatus,
)
from beacon_hitl.metrics import REVIEWS, WAIT_SECONDS
from beacon_hitl.repository import ReviewRepository
from beacon_runtime.bus.port import EventBus
from beacon_runtime.logs import get_logger

log = get_logger(__name__)


class ReviewDesk:
    def __init__(
        self, repository: ReviewRepository, bus: EventBus, *, ttl_s: float,
        expiry_policy: ExpiryPolicy, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repository, self._bus = repository, bus
        self._ttl = timedelta(seconds=ttl_s)
        self.expiry_policy = expiry_policy
        self.clock = clock

    async def receive(self, envelope: Envelope, request: ReviewRequired) -> Review:
        now = self.clock()
        review, created = await self.repository.add(NewReview(
            id=request.review_id, query_id=request.query_id, owner=request.owner,
            question=request.question, generated_response=request.generated_response,
            reason=request.reason, citations=list(request.citations),
            workflow_state=dict(request.workflow_state), correlation_id=envelope.correlation_id,
            created_at=now, expires_at=now + self._ttl,
        ))
        if created:
            REVIEWS.labels("received").inc()
            log.info("hitl.review_received", review_id=review.id, query_id=review.query_id,
                     reason=review.reason)
        elif review.status is ReviewStatus.PENDING:
            log.info("hitl.review_duplicate", review_id=review.id, query_id=review.query_id)
        else:
            # rag-query asks again for a review that has ended (it ran the query again after
            # a crash): it missed the outcome, so tell it again.
            log.info("hitl.review_duplicate", review_id=review.id, query_id=review.query_id,
                     status=review.status.value)
            await self._publish_or_defer(review)
        return review

    async def decide(self, review_id: str, action: Action, *, by: str, notes: str | None,
                     edited_response: str | None = None) -> Review:
        """Raises ReviewNotFound, or ReviewClosed if it was decided or has expired."""
        review = await self.repository.decide(review_id, Decision(
            status=action.status, by=by, at=self.clock(), notes=notes,
            edited_response=edited_response,
        ))
        self._count_end(review)
        log.info("hitl.review_decided", review_id=review.id, query_id=review.query_id,
                 status=review.status.value, reviewed_by=by)
        await self._publish_or_defer(review)
        return review

    async def sweep(self) -> tuple[int, int]:
        """Expire what is due, then publish every outcome not yet confirmed. Returns
        (expired, published)."""
        expired = await self.repository.expire_due(self.clock(), self.expiry_policy)
        for review in expired:
            self._count_end(review)
            log.info("hitl.review_expired", review_id=review.id, query_id=review.query_id,
                     policy=self.expiry_policy)
        published = 0
        for review in await self.repository.unpublished():
            published += await self._publish_or_defer(review)
        return len(expired), published

    async def _publish_or_defer(self, review: Review) -> bool:
        decision, final_response = review.resolution(self.expiry_policy)
        resolved = ReviewResolved(
            review_id=review.id, query_id=review.query_id, decision=decision,
            final_response=final_response, reviewed_by=review.reviewed_by or "",
            notes=review.notes, reviewed_at=review.reviewed_at,
        )
        try:
            await self._bus.publish(Envelope.wrap(resolved, correlation_id=review.correlation_id))
        except Exception as exc:  # noqa: BLE001 - the sweep publishes it again
            log.warning("hitl.publish_deferred", review_id=review.id, error=repr(exc))
            return False
        await self.repository.mark_published(review.id, self.clock())
        return True

    def _count_end(self, review: Review) -> None:
        REVIEWS.labels(review.status.value).inc()
        if review.reviewed_at is not None:
            WAIT_SECONDS.labels(review.status.value).observe(
                (review.reviewed_at - review.created_at).total_seconds())


class Sweeper:
    """Runs `desk.sweep()` every `interval_s` in the background of a running service. The
    first sweep waits one interval: services start before the bus does."""

    def __init__(self, desk: ReviewDesk, interval_s: float) -> None:
        self._desk, self._interval_s = desk, interval_s
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hitl-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self._desk.sweep()
            except Exception as exc:  # noqa: BLE001 - e.g. Postgres down: try again next time
                log.warning("hitl.sweep_failed", error=repr(exc))
