"""Duplicates never duplicate a job: identical POSTs to two gateway processes sharing Redis
get one job, and a JobCompleted delivered twice is applied once."""

from __future__ import annotations

import asyncio

import httpx
from beacon_contracts.events import Envelope, JobCompleted, JobKind
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.bus.rabbit import RabbitBus
from frontend import decode, encode
from processes import wait_until


SECTION = {
    "type": "Technical_scope",
    "customer_id": "cust-dup",
    "opportunity_id": "opp-dup",
    "section_title": "Executive Summary",
}


def gateway_events(gateways, job_id: str, event_type: str) -> list[dict]:
    return [
        record
        for gateway in gateways
        for record in gateway.logs("job.event_applied", job_id=job_id, event_type=event_type)
    ]


async def test_identical_posts_to_two_gateways_share_one_job(stack):
    # The model holds its call (until released below): the job is in flight while the
    # identical requests arrive.
    llm = stack.slow_llm()
    gateways = [stack.gateway("gateway-a"), stack.gateway("gateway-b")]
    worker = stack.worker(OPENAI_BASE_URL=f"{llm.url}/v1", LLM_MAX_RETRIES=0)
    await stack.ready(llm, path="/healthz")
    await stack.ready(*gateways, worker)
    clients = [stack.client(gateway, session_id="session-dup") for gateway in gateways]

    job_ids = await asyncio.gather(
        *(clients[i % 2].submit("/generate", SECTION) for i in range(10))
    )
    assert len(set(job_ids)) == 1, job_ids
    job_id = job_ids[0]
    deduplicated = [r for g in gateways for r in g.logs("job.deduplicated")]
    assert len(deduplicated) == 9
    assert all(g.logs("job.deduplicated") for g in gateways), "both gateways saw duplicates"

    # Either gateway answers for the job, with the same single result.
    async with httpx.AsyncClient(base_url=llm.url) as http:
        await http.post("/release")
    result = await clients[1].poll(job_id, timeout=30)
    assert (await clients[0].status(job_id)).json()["data"]["result"] == result
    assert "Slow model reply 1." in decode(result["generated_section_b64"])
    async with httpx.AsyncClient(base_url=llm.url) as http:
        assert (await http.get("/requests")).json()["received"] == 1
    # One JobRequested was published: one worker run, one start, one completion.
    assert [r["applied"] for r in gateway_events(gateways, job_id, "JobStarted")] == [True]
    assert [r["applied"] for r in gateway_events(gateways, job_id, "JobCompleted")] == [True]

    # Once it is finished, the same request is a new job (dedup holds only in flight).
    assert await clients[0].submit("/generate", SECTION) != job_id


async def test_job_completed_delivered_twice_is_applied_once(stack):
    # No worker: the job stays pending until this test completes it through the bus.
    gateway = stack.gateway()
    await stack.ready(gateway)
    client = stack.client(gateway)
    job_id = await client.submit("/generate", SECTION)

    def completed(text: str) -> JobCompleted:
        return JobCompleted(
            job_id=job_id,
            kind=JobKind.GENERATE,
            outcome="completed",
            result={
                "customer_id": "cust-dup",
                "opportunity_id": "opp-dup",
                "section_title": "Executive Summary",
                "generated_section_b64": encode(f"## Executive Summary\n\n{text}\n"),
            },
        )

    first = Envelope.wrap(completed("first delivery"), correlation_id=job_id)
    late = Envelope.wrap(completed("a later, different completion"), correlation_id=job_id)

    def deliveries(count: int):
        def check() -> list[dict] | None:
            found = gateway_events([gateway], job_id, "JobCompleted")
            return found if len(found) >= count else None

        return wait_until(
            check, timeout=15, what=f"{count} JobCompleted deliveries", while_alive=[gateway]
        )

    bus = RabbitBus(stack.amqp_url, namespace=stack.ns, retry=RetryPolicy(max_attempts=1))
    await bus.start()
    try:
        # The same envelope twice at once (a redelivery racing the original) ...
        await asyncio.gather(bus.publish(first), bus.publish(first))
        events = await deliveries(2)
        assert sorted(r["applied"] for r in events) == [False, True]
        assert {r["event_id"] for r in events} == {str(first.event_id)}
        # ... then a different completion of the same job, as a second worker would send.
        await bus.publish(late)
        events = await deliveries(3)
    finally:
        await bus.stop()
    assert len(events) == 3
    assert events[2]["event_id"] == str(late.event_id) and events[2]["applied"] is False

    envelope = (await client.status(job_id)).json()
    assert envelope["status"] == "ready"
    text = decode(envelope["data"]["result"]["generated_section_b64"])
    assert "first delivery" in text and "later" not in text
