"""The review service on the in-process bus, with a clock the test moves and a recorder of
what it publishes. (A module of its own, not conftest.py, so tests import it by name.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from beacon_contracts import routing
from beacon_contracts.events import Envelope, ReviewRequired, ReviewResolved
from beacon_hitl.bootstrap import build
from beacon_hitl.repository import InMemoryReviewRepository, ReviewRepository
from beacon_hitl.settings import HitlSettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import RetryPolicy

T0 = datetime(2024, 11, 25, 10, 30, tzinfo=UTC)
REVIEWER = {"X-User-Id": "2", "X-User-Role": "reviewer", "X-User-Email": "rita@example.com"}
ADMIN = {"X-User-Id": "1", "X-User-Role": "admin", "X-User-Email": "admin@example.com"}
USER = {"X-User-Id": "7", "X-User-Role": "user", "X-User-Email": "ana@example.com"}
ANSWER = "No material fraud was reported by the auditors during FY2024 [1]."


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FlakyBus(InMemoryBus):
    """The in-process bus, whose publishing can be switched off as a broker outage."""

    down = False

    async def publish(self, envelope: Envelope) -> None:
        if self.down:
            raise ConnectionError("broker unavailable")
        await super().publish(envelope)


@dataclass
class Hitl:
    bus: FlakyBus
    client: httpx.AsyncClient
    clock: Clock
    service: object
    resolved: list[tuple[Envelope, ReviewResolved]] = field(default_factory=list)

    async def ask_review(self, query_id: str | None = None, review_id: str | None = None,
                         **fields) -> ReviewRequired:
        query_id = query_id or str(uuid.uuid4())
        request = ReviewRequired(**{
            "review_id": review_id or str(uuid.uuid4()), "query_id": query_id, "owner": "7",
            "question": "What is the fraud investigation status at Reliance?",
            "generated_response": ANSWER,
            "reason": "Sensitive topic detected: fraud, investigation",
            "citations": [{"index": 1, "document_id": 123, "document_title": "RIL AR FY2024",
                           "source_text": "No material fraud ...", "page_number": 88}],
            "workflow_state": {"nodes_executed": ["router", "retrieve", "grade", "generate",
                                                  "fact_check", "cite"],
                               "fact_check_result": {"is_faithful": True, "confidence": 0.65}},
            **fields,
        })
        await self.bus.publish(Envelope.wrap(request, correlation_id=query_id))
        await self.bus.drain()
        return request

    async def sweep(self) -> tuple[int, int]:
        result = await self.service.http.state.desk.sweep()
        await self.bus.drain()
        return result


MEMORY = InMemoryReviewRepository  # the default: a fresh twin per harness


async def start_hitl(repository: ReviewRepository | type | None = MEMORY,
                     **settings) -> AsyncIterator[Hitl]:
    """`repository=None` lets the service build its own from settings (Postgres with a
    DATABASE_URL), migrated on start and closed on stop."""
    bus = FlakyBus(retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01))
    clock = Clock()
    # The sweeper's own loop is left to the e2e tests; here a test sweeps when it wants to.
    settings = {"review_sweep_interval_s": 3600, **settings}
    service = build(HitlSettings(**settings), Adapters(bus=bus),
                    repository=repository() if repository is MEMORY else repository, clock=clock)
    hitl_resolved: list = []

    async def observe(envelope: Envelope) -> None:
        hitl_resolved.append((envelope, envelope.parse()))

    bus.subscribe("test-observer", [routing.REVIEW_RESOLVED], observe)
    await service.start()
    await bus.start()
    transport = httpx.ASGITransport(app=service.http)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hitl") as client:
            yield Hitl(bus, client, clock, service, hitl_resolved)
    finally:
        await bus.stop()
        await service.stop()
