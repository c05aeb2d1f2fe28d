"""The research assistant in embedded mode (one process, no servers), driven as a frontend
would: log in, ask with SSE, read history, give feedback, and see what admins see."""

from __future__ import annotations

import httpx
import pytest
from processes import EMBEDDED_ADMIN as ADMIN
from processes import embedded_app

QUESTION = "What was Reliance revenue from operations in FY2024?"


@pytest.fixture
async def embedded(tmp_path):
    async with embedded_app(tmp_path) as proc, \
            httpx.AsyncClient(base_url=proc.url, timeout=30) as client:
        yield client


async def login(client, credentials) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def sse(client, headers, question, until=None) -> list[tuple[str, str, str]]:
    """Events until the stream ends, or until one whose (event, data) `until` accepts."""
    events, fields = [], {}
    async with client.stream("POST", "/api/v1/query/stream", headers=headers,
                             json={"question": question, "stream": True}) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue
            if line == "":
                if fields:
                    events.append((fields.get("event"), fields.get("id"), fields.get("data")))
                    if until is not None and until(fields.get("event"), fields.get("data")):
                        return events
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
    return events


async def wait_for_documents(client, headers, count: int) -> None:
    for _ in range(200):
        body = (await client.get("/api/v1/documents?status=completed", headers=headers)).json()
        if body["total"] >= count:
            return
        import asyncio

        await asyncio.sleep(0.1)
    raise AssertionError("the sample corpus was not ingested")


async def test_research_flow_for_two_analysts_and_an_admin(embedded):
    client = embedded
    admin = await login(client, ADMIN)
    await wait_for_documents(client, admin, 6)
    for email in ("ana@example.com", "ben@example.com"):
        created = await client.post("/api/v1/admin/users", headers=admin, json={
            "email": email, "password": "analyst-password", "full_name": email.split("@")[0]})
        assert created.status_code == 201
    ana = await login(client, {"email": "ana@example.com", "password": "analyst-password"})
    ben = await login(client, {"email": "ben@example.com", "password": "analyst-password"})

    events = await sse(client, ana, QUESTION)
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "node" and kinds[-1] == "done"
    assert "token" in kinds and "citation" in kinds
    assert kinds.index("citation") > max(i for i, k in enumerate(kinds) if k == "token")
    assert [int(seq) for _, seq, _ in events] == list(range(len(events)))
    import json

    citations = [json.loads(data) for kind, _, data in events if kind == "citation"]
    assert any("Reliance" in c["document_title"] for c in citations)
    query_id = json.loads(events[-1][2])["id"]

    record = (await client.get(f"/api/v1/query/{query_id}", headers=ana)).json()
    assert record["status"] == "completed"
    assert record["citations"][0]["page_number"] >= 1
    assert "9,74,864" in record["response"], "the revenue figure of the sample filing"
    assert 0 < record["metrics"]["faithfulness_score"] <= 1

    # Ben sees neither Ana's query nor her history.
    assert (await client.get(f"/api/v1/query/{query_id}", headers=ben)).status_code == 404
    assert (await client.get("/api/v1/query/history", headers=ben)).json()["total"] == 0
    history = (await client.get("/api/v1/query/history", headers=ana)).json()
    assert [q["id"] for q in history["queries"]] == [query_id]

    feedback = await client.post(f"/api/v1/query/{query_id}/feedback", headers=ana,
                                 json={"rating": 5, "feedback": "Cited the right page"})
    assert feedback.status_code in (200, 201)

    # A question on a sensitive topic is held for a reviewer (tests/e2e/test_e2e_review_flow.py
    # follows it to the decision); the stream stays open, so stop reading at the hold.
    held = await sse(client, ana, "Is there a fraud investigation at Reliance Industries?",
                     until=lambda event, data: '"review"' in data and '"pending"' in data)
    hold = json.loads(held[-1][2])
    assert (hold["node"], hold["status"]) == ("review", "pending")

    stats = (await client.get("/api/v1/admin/stats/queries?period=7d", headers=admin)).json()
    assert stats["total_queries"] == 2
    assert stats["by_status"].get("hitl_pending") == 1
    assert (await client.get("/api/v1/admin/stats/queries", headers=ana)).status_code == 403
    me = (await client.get("/api/v1/auth/me", headers=ana)).json()
    assert me["queries_today"] == 2

    # A bootstrap through the gateway, followed to its end: the sample FY2024 report is the
    # document already ingested; FY2023 has no source and says so.
    started = await client.post("/api/v1/admin/bootstrap", headers=admin, json={
        "companies": ["RELIANCE"], "doc_types": ["annual_report"], "years": [2024, 2023]})
    assert started.status_code == 202, started.text
    task_id = started.json()["task_id"]
    assert (await client.get(f"/api/v1/admin/bootstrap/{task_id}", headers=ana)).status_code == 403
    missing = await client.get("/api/v1/admin/bootstrap/bootstrap-unknown", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    task = await wait_for_bootstrap(client, admin, task_id)
    fy24, fy23 = task["documents"]
    assert (fy24["fiscal_period"], fy24["status"]) == ("FY2024", "completed")
    assert fy24["source_url"].startswith("sample://") and fy24["document_id"] > 0
    assert (fy23["status"], fy23["error"]) == ("skipped", "no source registered for RELIANCE.NS annual_report FY2023")
    assert task["progress"]["percent"] == 100.0 and len(task["failures"]) == 1


async def wait_for_bootstrap(client, headers, task_id: str) -> dict:
    import asyncio

    for _ in range(300):
        body = (await client.get(f"/api/v1/admin/bootstrap/{task_id}", headers=headers)).json()
        if body["status"] in ("completed", "failed"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"bootstrap {task_id} did not finish: {body}")
