"""The frontend's flow (seed 000) against real processes: distributed over RabbitMQ and Redis,
and the single embedded process with no servers at all."""

from __future__ import annotations

from beacon_report_writer.drafter import OFFLINE_LABEL
from frontend import ReportClient, decode


OPPORTUNITY = {"type": "Feasibility_report", "customer_id": "cust-42", "opportunity_id": "opp-7"}
REFINE_PROMPT = "Make it shorter, as bullet points"


async def generate_then_refine(client: ReportClient) -> tuple[dict, dict]:
    """POST /generate (a variant spelling of the title) and /refine of its result, each
    polled to ready; checks the decoded sections."""
    job_id = await client.submit("/generate", {**OPPORTUNITY, "section_title": "executive-summary"})
    generated = await client.poll(job_id)
    assert generated["section_title"] == "Executive Summary"
    assert generated["customer_id"] == "cust-42"
    assert generated["opportunity_id"] == "opp-7"
    assert "refined_section_b64" not in generated
    section = decode(generated["generated_section_b64"])
    assert section.startswith("## Executive Summary\n"), section[:200]
    assert OFFLINE_LABEL in section and "offline drafter" in section
    assert "`cust-42`" in section and "`opp-7`" in section
    # No material uploaded for this customer: an outline that says so, nothing cited.
    assert "**Material missing.**" in section and generated["citations"] == []

    refine_id = await client.submit(
        "/refine",
        {
            **OPPORTUNITY,
            "section_title": "Executive Summary",
            "original_text": generated["generated_section_b64"],
            "prompt": REFINE_PROMPT,
        },
    )
    assert refine_id != job_id
    refined = await client.poll(refine_id)
    assert refined["section_title"] == "Executive Summary"
    assert "generated_section_b64" not in refined
    text = decode(refined["refined_section_b64"])
    assert text.startswith("## Executive Summary\n"), text[:200]
    assert text.count("## Executive Summary") == 1
    assert OFFLINE_LABEL in text
    assert f'Requested change: "{REFINE_PROMPT}"' in text
    return {"job_id": job_id, **generated}, {"job_id": refine_id, **refined}


async def test_distributed_frontend_flow(stack):
    gateway, worker = stack.gateway(), stack.worker()
    await stack.ready(gateway, worker)
    client = stack.client(gateway)

    generated, refined = await generate_then_refine(client)

    # A worker without INGESTION_URL cannot reach customer material, and says so.
    overview_id = await client.submit(
        "/generate", {**OPPORTUNITY, "section_title": "Project Overview"}
    )
    overview = decode((await client.poll(overview_id))["generated_section_b64"])
    assert overview.startswith("## Project Overview\n")
    assert "INGESTION_URL is not set" in overview

    # The work really crossed processes: the worker drafted, the gateway applied events.
    job_ids = [generated["job_id"], refined["job_id"], overview_id]
    for job_id in job_ids:
        assert len(worker.logs("report.job_finished", job_id=job_id, outcome="completed")) == 1
        applied = gateway.logs("job.event_applied", job_id=job_id, event_type="JobCompleted")
        assert [record["applied"] for record in applied] == [True]
    assert gateway.logs("report.drafted") == []


async def test_embedded_frontend_flow(stack):
    app = stack.embedded()
    await stack.ready(app)
    client = stack.client(app)

    generated, _ = await generate_then_refine(client)

    # API_KEYS was given, so no key was generated, and another key cannot read the job.
    assert "Report API key for this run" not in app.output()
    other = ReportClient(app.url, "not-a-key", "s")
    try:
        assert (await other.status(generated["job_id"])).status_code == 401
    finally:
        await other.aclose()
    # Embedded means in-process bus and job store: nothing went to a broker.
    assert app.logs("bus.started") == []
