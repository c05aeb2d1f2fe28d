"""/metrics: queue depth and consumer lag of the in-process bus, jobs by kind and outcome
with durations (from the job store's transitions), model tokens (tests/unit/telemetry/
test_spans.py), ingestion stage durations (ibid.)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from prometheus_client import REGISTRY

from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobStarted, utcnow
from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.metrics import refresh_gauges

BODY = {"type": "Technical_scope", "customer_id": "c", "opportunity_id": "o",
        "section_title": "Technology Stack"}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_queue_depth_is_read_at_scrape_time_and_lag_is_observed_per_first_delivery():
    bus = InMemoryBus()
    release = asyncio.Event()

    async def slow(_envelope: Envelope) -> None:
        await release.wait()

    bus.subscribe("depth-test", ["job.started"], slow)
    await bus.start()
    lag_before = sample("beacon_bus_delivery_lag_seconds_count", consumer="depth-test",
                        event_type="JobStarted")
    old = Envelope.wrap(JobStarted(job_id="j0", kind=JobKind.GENERATE, worker="w"),
                        correlation_id="j0").model_copy(update={"occurred_at": utcnow() - timedelta(seconds=30)})
    await bus.publish(old)
    for i in range(1, 4):
        await bus.publish(Envelope.wrap(JobStarted(job_id=f"j{i}", kind=JobKind.GENERATE, worker="w"),
                                        correlation_id=f"j{i}"))
    await asyncio.sleep(0)  # the one worker takes the first message and waits in it
    await refresh_gauges()
    assert sample("beacon_bus_queue_messages", queue="depth-test") == 3
    assert sample("beacon_bus_queue_consumers", queue="depth-test") == 1
    release.set()
    await bus.drain()
    await refresh_gauges()
    assert sample("beacon_bus_queue_messages", queue="depth-test") == 0
    await bus.stop()
    assert sample("beacon_bus_delivery_lag_seconds_count", consumer="depth-test",
                  event_type="JobStarted") == lag_before + 4
    # The 30 s old event is in the 60 s bucket, not in the 10 s one.
    le10 = sample("beacon_bus_delivery_lag_seconds_bucket", consumer="depth-test",
                  event_type="JobStarted", le="10.0")
    le60 = sample("beacon_bus_delivery_lag_seconds_bucket", consumer="depth-test",
                  event_type="JobStarted", le="60.0")
    assert le60 - le10 >= 1


async def test_jobs_are_counted_by_kind_and_outcome_once_per_transition():
    bus = InMemoryBus()
    service = build(GatewaySettings(api_keys="k", jwt_secret="s" * 40),
                    Adapters(bus=bus, jobs=InMemoryJobStore()))
    before = {
        "created": sample("beacon_jobs_created_total", kind="generate"),
        "started": sample("beacon_jobs_started_total", kind="generate"),
        "completed": sample("beacon_jobs_finished_total", kind="generate", outcome="completed"),
        "seconds": sample("beacon_job_seconds_count", kind="generate", outcome="completed"),
        "queued": sample("beacon_job_queued_seconds_count", kind="generate"),
    }
    await bus.start()
    transport = httpx.ASGITransport(app=service.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {"X-API-Key": "k", "Session-Id": "s"}
        job_id = (await client.post("/generate", json=BODY, headers=headers)).json()["data"]["job_id"]
        # The same request again while it is pending is the same job: not created twice.
        again = (await client.post("/generate", json=BODY, headers=headers)).json()["data"]["job_id"]
        assert again == job_id
        started = Envelope.wrap(JobStarted(job_id=job_id, kind=JobKind.GENERATE, worker="w"),
                                correlation_id=job_id)
        done = Envelope.wrap(JobCompleted(job_id=job_id, kind=JobKind.GENERATE, outcome="completed",
                                          result={"x": 1}), correlation_id=job_id)
        for envelope in (started, started, done, done):  # duplicates change nothing
            await bus.publish(envelope)
        await bus.drain()
        metrics = (await client.get("/metrics")).text
    await bus.stop()
    assert sample("beacon_jobs_created_total", kind="generate") == before["created"] + 1
    assert sample("beacon_jobs_started_total", kind="generate") == before["started"] + 1
    assert sample("beacon_jobs_finished_total", kind="generate",
                  outcome="completed") == before["completed"] + 1
    assert sample("beacon_job_seconds_count", kind="generate",
                  outcome="completed") == before["seconds"] + 1
    assert sample("beacon_job_queued_seconds_count", kind="generate") == before["queued"] + 1
    assert 'beacon_jobs_finished_total{kind="generate",outcome="completed"}' in metrics
