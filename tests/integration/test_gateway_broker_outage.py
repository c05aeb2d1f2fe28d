"""The broker made unreachable (a TCP proxy in front of the shared RabbitMQ, never the server
itself): POST /generate answers 503 at once instead of hanging, the job it created is failed
rather than left pending, and /readyz reports the bus down; both recover with the broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from netproxy import TcpProxy
from yarl import URL

from beacon_contracts.routing import COMMAND_QUEUES
from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.rabbit import RabbitBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.serve import attach_lifespan

pytestmark = pytest.mark.integration

HEADERS = {"X-API-Key": "k", "Session-Id": "outage"}


def body(n: int) -> dict:
    return {"type": "Feasibility_report", "customer_id": f"c-{n}", "opportunity_id": "o",
            "section_title": "Executive Summary"}


async def eventually(probe: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def proxy(amqp_url) -> AsyncIterator[TcpProxy]:
    url = URL(amqp_url)
    p = TcpProxy((url.host, url.port or 5672))
    await p.start()
    yield p
    await p.cut()


@pytest.fixture
async def gateway(proxy, amqp_url, unique_name):
    """The gateway on a RabbitBus that reaches the broker through `proxy`, with a publish
    timeout longer than any test: a 503 that comes at all did not wait for it."""
    proxied = str(URL(amqp_url).with_port(proxy.port).with_query(reconnect_interval=0.1))
    bus = RabbitBus(proxied, namespace=unique_name, declare=COMMAND_QUEUES,
                    publish_timeout_s=3600, stop_timeout_s=1)
    jobs = InMemoryJobStore()
    service = build(GatewaySettings(api_keys="k", jwt_secret="s" * 40, amqp_url=proxied),
                    Adapters(bus=bus, jobs=jobs))
    attach_lifespan(service.http, bus=bus, services=[service])
    try:
        async with service.http.router.lifespan_context(service.http):
            transport = httpx.ASGITransport(app=service.http)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client, bus, jobs
    finally:
        await RabbitBus(amqp_url, namespace=unique_name, declare=COMMAND_QUEUES,
                        ).delete_topology()


async def test_post_answers_503_at_once_and_readiness_reports_the_broker(proxy, gateway):
    client, bus, jobs = gateway
    accepted = await client.post("/generate", headers=HEADERS, json=body(1))
    assert accepted.status_code == 202
    assert (await client.get("/readyz")).json()["checks"]["bus"] == "ok"

    await proxy.cut()

    async def bus_down() -> bool:
        return not await bus.ping()

    await eventually(bus_down)
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["bus"] == "unavailable"

    refused = await client.post("/generate", headers=HEADERS, json=body(2))
    assert refused.status_code == 503
    assert refused.json()["data"]["error_code"] == "SERVICE_UNAVAILABLE"
    # The job the refused POST created is failed, so an identical POST is not deduplicated
    # onto a job no worker will ever see.
    retried = await client.post("/generate", headers=HEADERS, json=body(2))
    assert retried.status_code == 503
    assert retried.json()["data"]["error_code"] == "SERVICE_UNAVAILABLE"

    await proxy.start()  # same port: the robust connection comes back by itself
    await eventually(bus.ping)
    assert (await client.get("/readyz")).status_code == 200
    recovered = await client.post("/generate", headers=HEADERS, json=body(2))
    assert recovered.status_code == 202
    job = await jobs.get(recovered.json()["data"]["job_id"])
    assert job is not None and job.status.value == "pending"
