"""The report API's customer-material routes and section catalogue, through the gateway to the
real ingestion service (in-process twins): envelopes, ownership by key record, errors."""

from __future__ import annotations

import httpx
import pytest

from beacon_contracts.sections import SECTIONS, ReportType
from beacon_gateway.bootstrap import build as build_gateway
from beacon_gateway.settings import GatewaySettings
from beacon_ingestion.bootstrap import build as build_ingestion
from beacon_ingestion.settings import IngestionSettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.vectors.edge import EdgeVectorStore

KEY, OTHER = "key-one", "key-two"
A = {"X-API-Key": KEY}
B = {"X-API-Key": OTHER}


@pytest.fixture
async def api(tmp_path):
    bus = InMemoryBus()
    vectors = EdgeVectorStore(tmp_path / "vectors")
    ingestion = build_ingestion(IngestionSettings(ingest_sample_corpus=False),
                                Adapters(bus=bus, vectors=vectors))
    gateway = build_gateway(GatewaySettings(api_keys=f"{KEY},{OTHER}"),
                            Adapters(bus=bus, jobs=InMemoryJobStore()),
                            internal_apps={"ingestion": ingestion.http})
    for service in (ingestion, gateway):
        await service.start()
    await bus.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.http), base_url="http://test") as client:
        yield client, bus
    await bus.stop()
    for service in (gateway, ingestion):
        await service.stop()
    await vectors.close()


async def post_file(client, headers, data: bytes, name="rfp.txt", **fields):
    return await client.post("/documents", headers=headers, files={"file": (name, data)}, data=fields)


async def test_upload_poll_list_and_delete_in_the_report_envelope(api):
    client, bus = api
    response = await post_file(client, A, b"Acme requires 99.9% uptime and SSO.", customer_id="acme",
                               opportunity_id="opp-1", title="Acme RFP")
    assert response.status_code == 202
    body = response.json()
    document_id = body["data"]["document_id"]
    assert body == {"status": "processing", "message": "Document queued for ingestion",
                    "data": {"document_id": document_id, "status": "pending"}}

    pending = (await client.get(f"/documents/{document_id}", headers=A)).json()
    assert pending["status"] == "processing" and pending["data"]["status"] in ("pending", "processing")
    await bus.drain()
    ready = (await client.get(f"/documents/{document_id}", headers=A)).json()
    assert ready["status"] == "ready" and ready["message"] == "Document ready"
    assert ready["data"]["status"] == "completed" and ready["data"]["page_count"] == 1
    assert ready["data"]["chunk_count"] == 1 and ready["data"]["title"] == "Acme RFP"
    assert ready["data"]["customer_id"] == "acme" and ready["data"]["error"] is None

    again = (await post_file(client, A, b"Acme requires 99.9% uptime and SSO.", customer_id="acme",
                             opportunity_id="opp-1")).json()
    assert again["message"] == "Identical document already uploaded"
    assert again["data"] == {"document_id": document_id, "status": "completed"}

    listed = (await client.get("/documents", headers=A, params={"customer_id": "acme"})).json()
    assert listed["status"] == "ok" and [d["document_id"] for d in listed["data"]["documents"]] == [document_id]
    assert (await client.get("/documents", headers=A, params={"customer_id": "globex"})).json()["data"] == {"documents": []}

    # The other key: the document does not exist for it, in any route.
    assert (await client.get("/documents", headers=B)).json()["data"] == {"documents": []}
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/documents/{document_id}", headers=B)
        assert response.status_code == 404
        assert response.json()["data"] == {"error_code": "DOCUMENT_NOT_FOUND", "path": f"/documents/{document_id}"}

    deleted = await client.delete(f"/documents/{document_id}", headers=A)
    assert deleted.status_code == 200
    assert deleted.json() == {"status": "ok", "message": "Document deleted",
                              "data": {"document_id": document_id, "deleted": True}}
    assert (await client.get(f"/documents/{document_id}", headers=A)).status_code == 404


async def test_failed_document_reports_its_error(api):
    client, bus = api
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ngarbage\n%%EOF"
    document_id = (await post_file(client, A, broken, name="rfp.pdf", customer_id="acme")).json()["data"]["document_id"]
    await bus.drain()
    body = (await client.get(f"/documents/{document_id}", headers=A)).json()
    assert body["status"] == "error" and body["message"] == "Document failed"
    assert body["data"]["status"] == "failed" and "PDF" in body["data"]["error"]


async def test_errors_follow_contract_000(api):
    client, _ = api
    assert (await post_file(client, {}, b"x")).status_code == 401
    assert (await post_file(client, {"X-API-Key": "nope"}, b"x")).json()["data"]["error_code"] == "UNAUTHORIZED"

    missing = await client.post("/documents", headers=A, data={"customer_id": "acme"})
    assert missing.status_code == 422 and missing.json()["data"]["error_code"] == "VALIDATION_ERROR"
    assert any(d["loc"] == ["body", "file"] for d in missing.json()["data"]["details"])

    for fields, field in (({"customer_id": "bad id!"}, "customer_id"),
                          ({"customer_id": "a\x01b"}, "customer_id"),
                          ({"opportunity_id": "opp-1"}, "opportunity_id")):
        response = await post_file(client, A, b"text", **fields)
        assert response.status_code == 422, response.text
        assert [d["loc"] for d in response.json()["data"]["details"]] == [["body", field]]

    binary = await post_file(client, A, b"\x00\x01\x02", name="x.bin", customer_id="acme")
    assert binary.status_code == 422
    assert binary.json()["data"]["details"][0]["loc"] == ["body", "file"]

    for path in ("/documents/abc", "/documents/99999"):
        response = await client.get(path, headers=A)
        assert response.status_code == 404 and response.json()["status"] == "error"
    bad_query = await client.get("/documents", headers=A, params={"customer_id": "x y"})
    assert bad_query.status_code == 422


async def test_sections_lists_allowed_titles_per_type(api):
    client, _ = api
    one = (await client.get("/sections", headers=A, params={"type": "Technical_scope"})).json()
    assert one == {"status": "ok", "message": "Allowed section titles",
                   "data": {"sections": {"Technical_scope": list(SECTIONS[ReportType.TECHNICAL_SCOPE])}}}
    every = (await client.get("/sections", headers=A)).json()["data"]["sections"]
    assert set(every) == {t.value for t in ReportType}
    unknown = await client.get("/sections", headers=A, params={"type": "Nope"})
    assert unknown.status_code == 422 and unknown.json()["data"]["error_code"] == "VALIDATION_ERROR"
    assert (await client.get("/sections")).status_code == 401


async def test_owner_is_the_key_record_not_the_key():
    import dataclasses
    import hashlib

    from beacon_gateway.api_keys import ApiKeyVerifier
    from beacon_gateway.repository import InMemoryIdentityRepository

    repo = InMemoryIdentityRepository()
    old, new = "first-secret", "rotated-secret"
    record = await repo.add_api_key("frontend", hashlib.sha256(old.encode()).hexdigest(), "bk_", None)
    verifier = ApiKeyVerifier(["static-a", "static-b"], repo, cache_s=0)
    assert await verifier.owner_of(old) == f"key:{record.id}"
    # The record's secret replaced (a rotation): the new key owns what the old one did.
    repo._keys[record.id] = dataclasses.replace(record, key_hash=hashlib.sha256(new.encode()).hexdigest())
    assert await verifier.owner_of(new) == f"key:{record.id}"
    assert await verifier.owner_of(old) is None
    assert await verifier.owner_of("static-b") == "static:1"
    assert await verifier.owner_of("unknown") is None
