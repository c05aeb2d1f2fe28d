"""The request id the client got back is current in every handler its request caused, hop
after hop (the in-process bus; the RabbitMQ bus: tests/integration/test_request_id_over_rabbit.py)."""

from __future__ import annotations

import httpx
import structlog

from beacon_contracts.events import Envelope, JobKind, JobStarted
from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.logs import current_request_id

BODY = {"type": "Technical_scope", "customer_id": "c", "opportunity_id": "o",
        "section_title": "Technology Stack"}


async def test_the_request_id_reaches_the_worker_and_the_events_it_publishes():
    bus = InMemoryBus()
    seen: dict[str, tuple] = {}

    async def worker(envelope: Envelope) -> None:
        seen["worker"] = (structlog.contextvars.get_contextvars().get("request_id"),
                          current_request_id())
        await bus.publish(Envelope.wrap(
            JobStarted(job_id=envelope.payload["job_id"], kind=JobKind.GENERATE, worker="w"),
            correlation_id=envelope.correlation_id, causation=envelope))

    async def watcher(_envelope: Envelope) -> None:
        seen["watcher"] = (structlog.contextvars.get_contextvars().get("request_id"),
                           current_request_id())

    bus.subscribe("worker", ["job.requested.*"], worker)
    bus.subscribe("watcher", ["job.started"], watcher)
    service = build(GatewaySettings(api_keys="k", jwt_secret="s" * 40),
                    Adapters(bus=bus, jobs=InMemoryJobStore()))
    await bus.start()
    transport = httpx.ASGITransport(app=service.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/generate", json=BODY, headers={
            "X-API-Key": "k", "Session-Id": "s", "X-Request-ID": "rq-client-42"})
        assert response.status_code == 202
        await bus.drain()
    await bus.stop()
    assert response.headers["x-request-id"] == "rq-client-42"
    assert seen == {"worker": ("rq-client-42", "rq-client-42"),
                    "watcher": ("rq-client-42", "rq-client-42")}
    assert current_request_id() is None  # nothing leaks past the request


async def test_a_message_published_outside_any_request_carries_no_request_id():
    bus = InMemoryBus()
    seen = []

    async def handler(_envelope: Envelope) -> None:
        seen.append((structlog.contextvars.get_contextvars().get("request_id"),
                     current_request_id()))

    bus.subscribe("c", ["job.started"], handler)
    await bus.start()
    await bus.publish(Envelope.wrap(JobStarted(job_id="j", kind=JobKind.GENERATE, worker="w"),
                                    correlation_id="j"))
    await bus.drain()
    await bus.stop()
    assert seen == [(None, None)]
