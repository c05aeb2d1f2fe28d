"""The report API against the frontend contract, on in-memory twins."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest

from beacon_contracts.commands import GenerateSection
from beacon_contracts.events import Envelope, JobCompleted, JobError, JobKind, JobStarted
from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.jobs.port import JobStoreUnavailable

KEY = "test-key-1"
OTHER_KEY = "test-key-2"
HEADERS = {"X-API-Key": KEY, "Session-Id": "session_123"}
BODY = {
    "type": "Feasibility_report",
    "customer_id": "cust-1",
    "opportunity_id": "opp-1",
    "section_title": "Executive Summary",
}


class FailingBus(InMemoryBus):
    async def publish(self, envelope: Envelope) -> None:
        raise ConnectionError("broker down")


@pytest.fixture
async def stack():
    bus, jobs = InMemoryBus(), InMemoryJobStore()
    published: list[Envelope] = []

    async def record(envelope: Envelope) -> None:
        published.append(envelope)

    bus.subscribe("observer", ["job.requested.*"], record)
    service = build(GatewaySettings(api_keys=f"{KEY},{OTHER_KEY}", max_body_bytes=4096),
                    Adapters(bus=bus, jobs=jobs))
    await bus.start()
    transport = httpx.ASGITransport(app=service.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, bus, jobs, published
    await bus.stop()


async def test_generate_returns_202_with_pending_job(stack):
    client, bus, _, published = stack
    response = await client.post("/generate", headers=HEADERS, json=BODY)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "processing"
    assert body["message"] == "Job queued"
    assert body["data"]["status"] == "pending"
    await bus.drain()
    assert [e.payload["job_id"] for e in published] == [body["data"]["job_id"]]
    command = published[0].parse()
    assert isinstance(command, GenerateSection) and command.session_id == "session_123"
    assert command.owner and command.request_id == response.headers["x-request-id"]


async def test_missing_api_key_is_401_even_with_a_broken_body(stack):
    client, *_ = stack
    for kwargs in ({"json": BODY}, {"content": b"{not json", "headers": {"Content-Type": "application/json"}}):
        headers = {"Session-Id": "s", **kwargs.pop("headers", {})}
        response = await client.post("/generate", headers=headers, **kwargs)
        assert response.status_code == 401
        assert response.json()["data"] == {"error_code": "UNAUTHORIZED", "path": "/generate"}


async def test_wrong_api_key_is_401(stack):
    client, *_ = stack
    response = await client.get("/status/x", headers={"X-API-Key": "nope"})
    assert response.status_code == 401


async def test_missing_session_id_is_400_as_in_the_contract(stack):
    client, *_ = stack
    for path in ("/generate", "/refine"):
        response = await client.post(path, headers={"X-API-Key": KEY}, json=BODY)
        assert response.status_code == 400
        assert response.json() == {
            "status": "error",
            "message": "Session-Id is required",
            "data": {"error_code": "BAD_REQUEST", "path": path},
        }


@pytest.mark.parametrize(
    "change",
    [
        {"type": "Marketing_plan"},
        {"section_title": "Pricing"},  # a Commercial_proposal section, not a feasibility one
        {"customer_id": ""},
        {"section_title": None},
    ],
)
async def test_invalid_generate_body_is_422_with_details(stack, change):
    client, *_ = stack
    response = await client.post("/generate", headers=HEADERS, json={**BODY, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "error"
    assert body["data"]["error_code"] == "VALIDATION_ERROR"
    assert body["data"]["path"] == "/generate"
    assert body["data"]["details"], "pydantic error list expected"


async def test_malformed_json_gets_the_envelope(stack):
    client, *_ = stack
    response = await client.post(
        "/generate", headers={**HEADERS, "Content-Type": "application/json"}, content=b'{"type": '
    )
    assert response.status_code == 400
    assert response.json()["data"]["error_code"] == "BAD_REQUEST"


async def test_section_title_variants_are_answered_canonically(stack):
    client, bus, _, published = stack
    body = {**BODY, "type": "Technical_scope", "section_title": "  security AND compliance"}
    response = await client.post("/generate", headers=HEADERS, json=body)
    assert response.status_code == 202
    await bus.drain()
    assert published[-1].payload["request"]["section_title"] == "Security & Compliance"


@pytest.mark.parametrize(
    ("original_text", "prompt"),
    [
        ("not base64!!", "shorter"),
        (base64.b64encode(b"\xff\xfe").decode(), "shorter"),  # not UTF-8
        (base64.b64encode(b"# Summary").decode(), "   "),
        (base64.b64encode(b"# Summary").decode(), ""),
    ],
)
async def test_refine_validates_base64_and_prompt(stack, original_text, prompt):
    client, *_ = stack
    body = {**BODY, "original_text": original_text, "prompt": prompt}
    response = await client.post("/refine", headers=HEADERS, json=body)
    assert response.status_code == 422


async def test_oversized_body_is_413_not_a_crash(stack):
    client, *_ = stack
    body = {**BODY, "original_text": base64.b64encode(b"x" * 8000).decode(), "prompt": "p"}
    response = await client.post("/refine", headers=HEADERS, json=body)
    assert response.status_code == 413
    assert response.json()["data"]["error_code"] == "PAYLOAD_TOO_LARGE"


async def test_identical_request_in_flight_returns_the_same_job(stack):
    client, bus, _, published = stack
    first = (await client.post("/generate", headers=HEADERS, json=BODY)).json()["data"]["job_id"]
    second = (await client.post("/generate", headers=HEADERS, json=BODY)).json()["data"]["job_id"]
    other_session = await client.post(
        "/generate", headers={**HEADERS, "Session-Id": "other"}, json=BODY
    )
    assert first == second
    assert other_session.json()["data"]["job_id"] != first
    await bus.drain()
    assert len(published) == 2


async def test_status_walks_through_the_contract_states(stack):
    client, bus, _, _ = stack
    job_id = (await client.post("/generate", headers=HEADERS, json=BODY)).json()["data"]["job_id"]
    request = Envelope.wrap(JobStarted(job_id=job_id, kind=JobKind.GENERATE, worker="w"), correlation_id=job_id)
    await bus.publish(request)
    await bus.drain()
    processing = (await client.get(f"/status/{job_id}", headers={"X-API-Key": KEY})).json()
    assert processing == {
        "status": "processing",
        "message": "Job processing",
        "data": {"job_id": job_id, "status": "processing"},
    }
    result = {
        "customer_id": "cust-1",
        "opportunity_id": "opp-1",
        "section_title": "Executive Summary",
        "generated_section_b64": base64.b64encode(b"# Draft").decode(),
    }
    await bus.publish(request.follow(JobCompleted(job_id=job_id, kind=JobKind.GENERATE, outcome="completed", result=result)))
    # A late failure must not overwrite the result.
    await bus.publish(request.follow(JobCompleted(
        job_id=job_id, kind=JobKind.GENERATE, outcome="failed",
        error=JobError(error_code="INTERNAL_ERROR", message="late"))))
    await bus.drain()
    ready = (await client.get(f"/status/{job_id}", headers={"X-API-Key": KEY})).json()
    assert ready == {
        "status": "ready",
        "message": "Job completed",
        "data": {"job_id": job_id, "status": "completed", "result": result},
    }


async def test_failed_job_reports_its_error(stack):
    client, bus, _, _ = stack
    job_id = (await client.post("/generate", headers=HEADERS, json=BODY)).json()["data"]["job_id"]
    await bus.publish(Envelope.wrap(JobCompleted(
        job_id=job_id, kind=JobKind.GENERATE, outcome="failed",
        error=JobError(error_code="LLM_TIMEOUT", message="model did not answer")), correlation_id=job_id))
    await bus.drain()
    response = await client.get(f"/status/{job_id}", headers={"X-API-Key": KEY})
    assert response.status_code == 200
    assert response.json() == {
        "status": "error",
        "message": "Job failed",
        "data": {"job_id": job_id, "status": "failed",
                 "error": {"error_code": "LLM_TIMEOUT", "message": "model did not answer"}},
    }


async def test_a_job_is_invisible_to_another_key(stack):
    client, *_ = stack
    job_id = (await client.post("/generate", headers=HEADERS, json=BODY)).json()["data"]["job_id"]
    response = await client.get(f"/status/{job_id}", headers={"X-API-Key": OTHER_KEY})
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "message": f"Job {job_id} not found",
        "data": {"error_code": "JOB_NOT_FOUND", "path": f"/status/{job_id}"},
    }


async def test_publish_failure_is_503_and_leaves_no_pending_job():
    bus, jobs = FailingBus(), InMemoryJobStore()
    service = build(GatewaySettings(api_keys=KEY), Adapters(bus=bus, jobs=jobs))
    transport = httpx.ASGITransport(app=service.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/generate", headers=HEADERS, json=BODY)
        assert response.status_code == 503
        assert response.json()["data"]["error_code"] == "SERVICE_UNAVAILABLE"
        # The identical request can be retried: the failed job does not block it.
        retry = await client.post("/generate", headers=HEADERS, json=BODY)
        assert retry.status_code == 503
    assert all(job.status.value == "failed" for _, job in jobs._jobs.values())


async def test_every_answer_carries_a_request_id(stack):
    client, *_ = stack
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/nope")
    assert generated.headers["x-request-id"].startswith("req-")
    assert generated.status_code == 404
    assert generated.json()["data"]["error_code"] == "NOT_FOUND"


async def test_research_paths_use_the_research_error_format(stack):
    client, *_ = stack
    response = await client.get("/api/v1/does-not-exist", headers={"X-Request-ID": "r-1"})
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "NOT_FOUND", "message": "No route for GET /api/v1/does-not-exist", "details": []},
        "request_id": "r-1",
    }


async def test_method_not_allowed_is_in_the_envelope(stack):
    client, *_ = stack
    response = await client.get("/generate", headers=HEADERS)
    assert response.status_code == 405
    assert response.json()["data"]["error_code"] == "METHOD_NOT_ALLOWED"


async def test_openapi_and_docs_are_served(stack):
    client, *_ = stack
    spec = (await client.get("/openapi.json")).json()
    assert {"/generate", "/refine", "/status/{job_id}"} <= set(spec["paths"])
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/redoc")).status_code == 200


class BrokenStore(InMemoryJobStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def get(self, job_id):
        raise self.error


@pytest.mark.parametrize(
    ("error", "status_code", "code"),
    [(JobStoreUnavailable("redis down"), 503, "SERVICE_UNAVAILABLE"),
     (RuntimeError("a bug"), 500, "INTERNAL_ERROR")],
)
async def test_store_failures_while_polling_are_enveloped(error, status_code, code):
    service = build(GatewaySettings(api_keys=KEY),
                    Adapters(bus=InMemoryBus(), jobs=BrokenStore(error)))
    # Starlette's ServerErrorMiddleware answers an unhandled error and then re-raises it for
    # the server to log; a client only ever sees the answer.
    transport = httpx.ASGITransport(app=service.http, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/status/some-job", headers=HEADERS)
    assert response.status_code == status_code
    assert response.json()["data"] == {"error_code": code, "path": "/status/some-job"}
    assert response.headers["x-request-id"].startswith("req-")
    assert "a bug" not in response.text, "no internals in the answer"


async def test_empty_or_non_object_bodies_are_rejected_in_the_envelope(stack):
    client, *_ = stack
    empty = await client.post("/generate", headers=HEADERS, content=b"")
    assert empty.status_code == 400
    assert empty.json()["data"]["error_code"] == "BAD_REQUEST"
    listed = await client.post("/refine", headers=HEADERS, json=[BODY])
    assert listed.status_code == 422
    assert listed.json()["data"]["details"][0]["loc"] == ["body"]


async def test_validation_details_locate_the_field_under_body(stack):
    client, *_ = stack
    response = await client.post("/generate", headers=HEADERS, json={**BODY, "customer_id": ""})
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["data"]["details"]] == [["body", "customer_id"]]


async def test_paths_next_to_the_report_routes_are_not_taken_for_them(stack):
    client, *_ = stack
    for path in ("/status/", "/status/a/b", "/generate/x"):
        response = await client.get(path, headers=HEADERS)
        assert response.status_code == 404, path
        assert response.json()["data"]["error_code"] == "NOT_FOUND"


async def test_openapi_documents_the_report_operations_completely(stack):
    client, *_ = stack
    spec = (await client.get("/openapi.json")).json()
    generate = spec["paths"]["/generate"]["post"]
    assert generate["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GenerateRequest"}
    assert [p["name"] for p in generate["parameters"]] == ["Session-Id"]
    assert generate["security"] == [{"ApiKey": []}]
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    assert set(spec["paths"]["/status/{job_id}"]["get"]["responses"]) == {"200", "401", "404", "503"}
    # Every reference in the document resolves.
    refs = set(re.findall(r'"\$ref": ?"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs and refs <= set(spec["components"]["schemas"])


async def test_control_characters_in_report_fields_are_422_and_in_a_job_id_404(stack):
    client, _, _, published = stack
    body = {**BODY, "customer_id": "cust\x00-1", "section_title": "Executive\x1bSummary"}
    response = await client.post("/generate", headers=HEADERS, json=body)
    assert response.status_code == 422
    assert {tuple(d["loc"]) for d in response.json()["data"]["details"]} == {
        ("body", "customer_id"), ("body", "section_title")}
    session = await client.post("/generate", headers={**HEADERS, "Session-Id": "s\x7f1"}, json=BODY)
    assert session.status_code == 422
    assert session.json()["data"]["details"][0]["loc"] == ["header", "Session-Id"]
    refine = {**BODY, "prompt": "Shorter,\tplease.\r\n", "original_text": base64.b64encode(b"# A\x00").decode()}
    response = await client.post("/refine", headers=HEADERS, json=refine)
    assert response.status_code == 422
    assert response.json()["data"]["details"][0]["loc"] == ["body", "original_text"]
    refine["original_text"] = base64.b64encode(b"# A\tB\r\n").decode()
    assert (await client.post("/refine", headers=HEADERS, json=refine)).status_code == 202
    assert (await client.get("/status/abc%00def", headers=HEADERS)).status_code == 404
    assert len(published) == 0 or all("\x00" not in str(e.payload) for e in published)
