"""Bus handler: a ReviewRequired in, one stored review out (none for a redelivery)."""

from __future__ import annotations

import structlog

from beacon_contracts.events import Envelope, ReviewRequired
from beacon_hitl.decisions import ReviewDesk


async def handle_review_required(request: ReviewRequired, envelope: Envelope, *,
                                 desk: ReviewDesk) -> None:
    with structlog.contextvars.bound_contextvars(job_id=request.query_id,
                                                 review_id=request.review_id):
        await desk.receive(envelope, request)
