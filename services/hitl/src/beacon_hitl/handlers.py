"""Bus handler: a ReviewRequired in, one stored review out (none for a redelivery)."""

from __future__ import annotations

import structlog

from beacon_contracts.events import Envelope, ReviewRequired
from beacon_hitl.decisions import ReviewDesk
from beacon_runtime.bus.port import Reject


async def handle_review_required(envelope: Envelope, *, desk: ReviewDesk) -> None:
    try:
        request = envelope.parse()
    except ValueError as exc:
        raise Reject(f"unreadable review request: {exc}") from exc
    if not isinstance(request, ReviewRequired):
        raise Reject(f"hitl handles ReviewRequired, not {envelope.type}")
    with structlog.contextvars.bound_contextvars(job_id=request.query_id,
                                                 review_id=request.review_id):
        await desk.receive(envelope, request)
