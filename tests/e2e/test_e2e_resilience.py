"""Process failures: a worker SIGKILLed mid-job, a gateway restarted with jobs in Redis."""

from __future__ import annotations

import json

import httpx
import pytest
from frontend import decode
from processes import kill, stop, wait_until


SECTION = {
    "type": "Feasibility_report",
    "customer_id": "cust-crash",
    "opportunity_id": "opp-crash",
    "section_title": "Executive Summary",
}


async def slow_llm_state(llm) -> dict:
    async with httpx.AsyncClient(base_url=llm.url, timeout=2.0) as client:
        return (await client.get("/requests")).json()


async def test_worker_sigkilled_mid_job_is_redelivered_and_stored_once(stack, redis_client):
    llm = stack.slow_llm()  # holds the model call until the test releases it
    worker_env = {
        "OPENAI_BASE_URL": f"{llm.url}/v1",
        "OPENAI_MODEL": "slow-test-model",
        "LLM_MAX_RETRIES": 0,  # one HTTP request per drafting attempt, so counts are exact
        "LLM_TIMEOUT_S": 30,
        "WORKER_CONCURRENCY": 1,
    }
    gateway, worker = stack.gateway(), stack.worker("worker-1", **worker_env)
    await stack.ready(llm, path="/healthz")
    await stack.ready(gateway, worker)
    client = stack.client(gateway)

    job_id = await client.submit("/generate", SECTION)

    # In flight: the gateway applied JobStarted and the model is answering the request.
    async def in_flight() -> bool:
        status = (await client.status(job_id)).json()["data"]["status"]
        return status == "processing" and (await slow_llm_state(llm))["received"] == 1

    await wait_until(in_flight, timeout=15, what="job in flight", while_alive=[worker, gateway])
    assert kill(worker) == -9
    assert worker.logs("report.job_finished") == []
    assert (await client.status(job_id)).json()["data"]["status"] == "processing"

    restarted = stack.worker("worker-2", **worker_env)
    await stack.ready(restarted)

    async def redelivered() -> bool:
        return (await slow_llm_state(llm))["received"] == 2

    await wait_until(redelivered, timeout=30, what="redelivered call", while_alive=[restarted, gateway])
    async with httpx.AsyncClient(base_url=llm.url, timeout=2.0) as http:
        await http.post("/release")
    result = await client.poll(job_id, timeout=30)

    # The broker redelivered the unacknowledged request: the model saw it twice (the one
    # duplicate effectively-once cannot prevent: the killed worker's call was interrupted),
    # and the stored section is the restarted worker's (reply 2), not the dead one's.
    seen = await slow_llm_state(llm)
    assert seen["received"] == 2
    assert all("Executive Summary" in user for user in seen["users"])
    section = decode(result["generated_section_b64"])
    assert section.startswith("## Executive Summary\n")
    assert "Slow model reply 2." in section

    # Stored once: one terminal transition applied, one job record, its fingerprint freed.
    completed = gateway.logs("job.event_applied", job_id=job_id, event_type="JobCompleted")
    assert [r["applied"] for r in completed] == [True]
    started = gateway.logs("job.event_applied", job_id=job_id, event_type="JobStarted")
    assert [r["applied"] for r in started] == [True, False]  # the redelivery's JobStarted
    assert len(restarted.logs("report.job_finished", job_id=job_id)) == 1
    job_keys = [key async for key in redis_client.scan_iter(match=f"{stack.ns}:job:*")]
    assert job_keys == [f"{stack.ns}:job:{job_id}"]
    stored = json.loads(await redis_client.get(job_keys[0]))
    assert stored["status"] == "completed"
    assert stored["result"] == result
    assert [key async for key in redis_client.scan_iter(match=f"{stack.ns}:jobfp:*")] == []

    # And a status read later still gives the same single result.
    again = (await client.status(job_id)).json()
    assert again["status"] == "ready" and again["data"]["result"] == result


async def test_gateway_restart_keeps_every_job_status(stack):
    gateway1 = stack.gateway("gateway-1")
    worker = stack.worker("worker-1")
    await stack.ready(gateway1, worker)
    client = stack.client(gateway1)

    titles = ["Executive Summary", "Risk Assessment", "Recommendations"]
    done = [
        await client.submit("/generate", {**SECTION, "section_title": title}) for title in titles
    ]
    for job_id in done:
        await client.poll(job_id)
    before = {job_id: (await client.status(job_id)).json() for job_id in done}

    # With the worker stopped, a new job waits in the durable queue, status processing.
    _, needed_kill = stop(worker)
    assert not needed_kill, worker.tail()
    pending = await client.submit("/generate", {**SECTION, "section_title": "Appendix"})
    pending_before = (await client.status(pending)).json()
    assert pending_before["data"]["status"] == "pending"

    _, needed_kill = stop(gateway1)
    assert not needed_kill, gateway1.tail()
    assert gateway1.logs("process.stopped"), "gateway did not shut down gracefully"
    with pytest.raises(httpx.TransportError):
        await client.status(done[0])

    gateway2 = stack.gateway("gateway-2", port=gateway1.port)
    await stack.ready(gateway2)
    for job_id, envelope in before.items():
        response = await client.status(job_id)
        assert response.status_code == 200
        assert response.json() == envelope
        assert response.json()["status"] == "ready"
    assert (await client.status(pending)).json() == pending_before

    # The queued request survived too: a worker started now completes it.
    worker2 = stack.worker("worker-2")
    await stack.ready(worker2)
    result = await client.poll(pending)
    assert decode(result["generated_section_b64"]).startswith("## Appendix\n")


async def test_job_submitted_before_any_worker_ever_started_still_completes(stack):
    gateway = stack.gateway()
    await stack.ready(gateway)
    client = stack.client(gateway)
    job_id = await client.submit("/generate", {**SECTION, "section_title": "Appendix"})

    worker = stack.worker()
    await stack.ready(worker)
    result = await client.poll(job_id, timeout=8)
    assert decode(result["generated_section_b64"]).startswith("## Appendix\n")
