"""The frontend's flow (seed 000) against real processes: distributed over RabbitMQ and Redis,
and the single embedded process with no servers at all."""

from __future__ import annotations

import asyncio

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


async def test_embedded_draft_from_an_uploaded_rfp_cites_its_page(stack):
    """The whole issue-13 path in a real process: POST /documents, poll the upload to ready,
    draft a Technical_scope section, and find the RFP's fact footnoted to its page."""
    from report_testkit import footnoted, make_rfp_pdf, page_of

    app = stack.embedded()
    await stack.ready(app)
    client = stack.client(app)
    uploaded = await client.http.post(
        "/documents", files={"file": ("rfp.pdf", make_rfp_pdf())},
        data={"customer_id": "acme", "title": "Acme WMS RFP"})
    assert uploaded.status_code == 202, uploaded.text
    document_id = uploaded.json()["data"]["document_id"]
    status: dict = {}
    for _ in range(120):  # ingestion in the process: parse, chunk, embed (hashing), index
        status = (await client.http.get(f"/documents/{document_id}")).json()
        if status["status"] != "processing":
            break
        await asyncio.sleep(0.5)
    assert status["status"] == "ready" and status["data"]["page_count"] >= 4, status

    job_id = await client.submit("/generate", {
        "type": "Technical_scope", "customer_id": "acme", "opportunity_id": "wms-2027",
        "section_title": "Security & Compliance"})
    result = await client.poll(job_id, timeout=60)
    markdown = decode(result["generated_section_b64"])
    assert markdown.startswith(f"## Security & Compliance\n\n{OFFLINE_LABEL}"), markdown[:300]
    by_index = {c["index"]: c for c in result["citations"]}
    for fact in ("AES-256", "7 years"):
        notes = footnoted(markdown, fact)
        assert notes, (fact, markdown)
        assert {by_index[n]["page_number"] for n in notes} == {page_of(fact)}, (fact, markdown)
        assert {by_index[n]["document_id"] for n in notes} == {document_id}
        for n in notes:
            assert f"[^{n}]: Acme WMS RFP, page {page_of(fact)} (document {document_id})" in markdown
