"""The review service on the in-process bus: the seed's shapes, decisions that are final,
the audit trail, expiry, redeliveries, and a broker outage that delays but loses nothing."""

from __future__ import annotations

import asyncio

import pytest
from hitl_harness import ADMIN, ANSWER, REVIEWER, USER, Hitl, start_hitl


@pytest.fixture
async def hitl():
    async for h in start_hitl(review_ttl_s=3600):
        yield h


async def test_pending_and_detail_have_the_seed_shape(hitl: Hitl):
    first = await hitl.ask_review()
    hitl.clock.advance(minutes=1)
    second = await hitl.ask_review()
    pending = await hitl.client.get("/api/v1/hitl/pending", headers=REVIEWER)
    assert pending.status_code == 200
    body = pending.json()
    assert body["total"] == 2
    assert [r["id"] for r in body["reviews"]] == [first.review_id, second.review_id]
    assert body["reviews"][0] == {
        "id": first.review_id, "query_id": first.query_id, "question": first.question,
        "generated_response": ANSWER, "reason": "Sensitive topic detected: fraud, investigation",
        "created_at": "2024-11-25T10:30:00Z", "expires_at": "2024-11-25T11:30:00Z",
    }
    page = (await hitl.client.get("/api/v1/hitl/pending?limit=1&offset=1", headers=REVIEWER)).json()
    assert page["total"] == 2 and [r["id"] for r in page["reviews"]] == [second.review_id]

    detail = await hitl.client.get(f"/api/v1/hitl/{first.review_id}", headers=REVIEWER)
    assert detail.status_code == 200
    review = detail.json()
    assert review["citations"][0]["page_number"] == 88
    assert review["workflow_state"]["nodes_executed"][:2] == ["router", "retrieve"]
    assert review["workflow_state"]["fact_check_result"] == {"is_faithful": True, "confidence": 0.65}
    assert review["status"] == "pending" and review["reviewed_by"] is None
    assert review["created_at"] == "2024-11-25T10:30:00Z"


@pytest.mark.parametrize(("action", "body", "decision", "final"), [
    ("approve", {"notes": "Response is accurate and appropriate"}, "approved", ANSWER),
    ("reject", {"notes": "Response contains unverified claims"}, "rejected", None),
    ("edit", {"edited_response": "No fraud was reported [1].", "notes": "Removed speculation"},
     "edited", "No fraud was reported [1]."),
])
async def test_a_decision_answers_the_seed_shape_and_reaches_rag_query(
    hitl: Hitl, action, body, decision, final
):
    request = await hitl.ask_review()
    hitl.clock.advance(minutes=5)
    response = await hitl.client.post(f"/api/v1/hitl/{request.review_id}/{action}",
                                      headers=REVIEWER, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": request.review_id, "status": decision,
                               "reviewed_by": "rita@example.com",
                               "reviewed_at": "2024-11-25T10:35:00Z",
                               "query_id": request.query_id}
    await hitl.bus.drain()
    (envelope, resolved), = hitl.resolved
    assert (resolved.review_id, resolved.query_id, resolved.decision, resolved.final_response,
            resolved.reviewed_by, resolved.notes) == (
        request.review_id, request.query_id, decision, final, "rita@example.com", body["notes"])
    assert envelope.correlation_id == request.query_id, "the query's correlation is kept"
    listed = (await hitl.client.get("/api/v1/hitl/pending", headers=REVIEWER)).json()
    assert listed["total"] == 0
    detail = (await hitl.client.get(f"/api/v1/hitl/{request.review_id}", headers=ADMIN)).json()
    assert detail["status"] == decision and detail["notes"] == body["notes"]


async def test_approve_and_reject_take_an_empty_object(hitl: Hitl):
    request = await hitl.ask_review()
    url = f"/api/v1/hitl/{request.review_id}/approve"
    assert (await hitl.client.post(url, headers=REVIEWER)).status_code == 400, "a body is required"
    response = await hitl.client.post(url, headers=REVIEWER, json={})
    assert response.status_code == 200 and response.json()["status"] == "approved"


async def test_a_second_decision_is_409_and_changes_nothing(hitl: Hitl):
    request = await hitl.ask_review()
    url = f"/api/v1/hitl/{request.review_id}"
    assert (await hitl.client.post(f"{url}/approve", headers=REVIEWER, json={})).status_code == 200
    for action, body in (("approve", {}), ("reject", {"notes": "no"}),
                         ("edit", {"edited_response": "Other text."})):
        second = await hitl.client.post(f"{url}/{action}", headers=ADMIN, json=body)
        assert second.status_code == 409, action
        error = second.json()["error"]
        assert error["code"] == "CONFLICT"
        assert "already approved by rita@example.com" in error["message"]
    await hitl.bus.drain()
    assert len(hitl.resolved) == 1, "one outcome per review"
    assert (await hitl.client.get(url, headers=ADMIN)).json()["status"] == "approved"


async def test_concurrent_decisions_one_wins_one_gets_409(hitl: Hitl):
    request = await hitl.ask_review()
    url = f"/api/v1/hitl/{request.review_id}"
    other = {**ADMIN}
    answers = await asyncio.gather(
        hitl.client.post(f"{url}/approve", headers=REVIEWER, json={}),
        hitl.client.post(f"{url}/reject", headers=other, json={"notes": "unverified"}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    await hitl.bus.drain()
    (_, resolved), = hitl.resolved
    winner = next(a for a in answers if a.status_code == 200).json()
    assert resolved.decision == winner["status"] and resolved.reviewed_by == winner["reviewed_by"]


async def test_only_reviewers_and_admins(hitl: Hitl):
    request = await hitl.ask_review()
    for method, path in (("GET", "/api/v1/hitl/pending"), ("GET", f"/api/v1/hitl/{request.review_id}"),
                         ("POST", f"/api/v1/hitl/{request.review_id}/approve")):
        assert (await hitl.client.request(method, path, headers=USER)).status_code == 403
        assert (await hitl.client.request(method, path)).status_code == 401
    assert (await hitl.client.get(f"/api/v1/hitl/{request.review_id}")).json()["error"]["code"] == "UNAUTHORIZED"
    assert (await hitl.client.get(f"/api/v1/hitl/{request.review_id}", headers=REVIEWER)).json()["status"] == "pending"


async def test_bad_input_gets_a_clear_error(hitl: Hitl):
    request = await hitl.ask_review()
    url = f"/api/v1/hitl/{request.review_id}"
    for body in ({}, {"edited_response": ""}, {"edited_response": "   \n"},
                 {"edited_response": "ok", "extra": 1}, {"edited_response": "x" * 20001}):
        response = await hitl.client.post(f"{url}/edit", headers=REVIEWER, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    bad_notes = await hitl.client.post(f"{url}/approve", headers=REVIEWER, json={"notes": 5})
    assert bad_notes.status_code == 400
    not_json = await hitl.client.post(f"{url}/approve", content=b"{",
                                      headers={**REVIEWER, "Content-Type": "application/json"})
    assert not_json.status_code == 400
    missing = await hitl.client.post("/api/v1/hitl/nope/approve", headers=REVIEWER, json={})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert (await hitl.client.get("/api/v1/hitl/pending?limit=0", headers=REVIEWER)).status_code == 400
    assert (await hitl.client.get(url, headers=REVIEWER)).json()["status"] == "pending"


async def test_the_audit_trail_is_for_admins(hitl: Hitl):
    request = await hitl.ask_review()
    url = f"/api/v1/hitl/{request.review_id}"
    hitl.clock.advance(minutes=2)
    await hitl.client.post(f"{url}/edit", headers=REVIEWER,
                           json={"edited_response": "No fraud was reported [1].", "notes": "trim"})
    assert (await hitl.client.get(f"{url}/audit", headers=REVIEWER)).status_code == 403
    trail = await hitl.client.get(f"{url}/audit", headers=ADMIN)
    assert trail.status_code == 200
    received, edited = trail.json()["entries"]
    assert (received["action"], received["actor"], received["at"]) == (
        "received", "rag-query", "2024-11-25T10:30:00Z")
    assert edited == {"at": "2024-11-25T10:32:00Z", "actor": "rita@example.com",
                      "action": "edited", "notes": "trim", "text_before": ANSWER,
                      "text_after": "No fraud was reported [1].", "details": {}}
    assert (await hitl.client.get("/api/v1/hitl/nope/audit", headers=ADMIN)).status_code == 404


async def test_expiry_leaves_the_list_resolves_by_policy_and_refuses_decisions(hitl: Hitl):
    request = await hitl.ask_review()
    hitl.clock.advance(minutes=59)
    assert await hitl.sweep() == (0, 0)
    assert (await hitl.client.get("/api/v1/hitl/pending", headers=REVIEWER)).json()["total"] == 1
    hitl.clock.advance(minutes=1)
    # Due but not swept yet: not listed, and a decision is already too late.
    assert (await hitl.client.get("/api/v1/hitl/pending", headers=REVIEWER)).json()["total"] == 0
    late = await hitl.client.post(f"/api/v1/hitl/{request.review_id}/approve", headers=REVIEWER, json={})
    assert late.status_code == 409 and "expired" in late.json()["error"]["message"]
    assert await hitl.sweep() == (1, 1)
    detail = (await hitl.client.get(f"/api/v1/hitl/{request.review_id}", headers=REVIEWER)).json()
    assert (detail["status"], detail["reviewed_by"], detail["reviewed_at"]) == (
        "expired", "system", "2024-11-25T11:30:00Z")
    (_, resolved), = hitl.resolved
    assert (resolved.decision, resolved.final_response, resolved.reviewed_by) == (
        "rejected", None, "system")
    assert await hitl.sweep() == (0, 0), "resolved once"
    late = await hitl.client.post(f"/api/v1/hitl/{request.review_id}/reject", headers=REVIEWER, json={})
    assert late.status_code == 409


async def test_the_approve_expiry_policy_releases_the_answer():
    async for hitl in start_hitl(review_ttl_s=60, review_expiry_policy="approve"):
        await hitl.ask_review()
        hitl.clock.advance(seconds=61)
        await hitl.sweep()
        (_, resolved), = hitl.resolved
        assert (resolved.decision, resolved.final_response) == ("approved", ANSWER)


async def test_a_redelivered_request_creates_no_second_review(hitl: Hitl):
    request = await hitl.ask_review()
    hitl.clock.advance(minutes=3)
    await hitl.ask_review(query_id=request.query_id, review_id=request.review_id)
    body = (await hitl.client.get("/api/v1/hitl/pending", headers=REVIEWER)).json()
    assert body["total"] == 1 and body["reviews"][0]["created_at"] == "2024-11-25T10:30:00Z"
    trail = (await hitl.client.get(f"/api/v1/hitl/{request.review_id}/audit", headers=ADMIN)).json()
    assert [e["action"] for e in trail["entries"]] == ["received"]
    assert hitl.resolved == []


async def test_a_request_for_an_ended_review_gets_its_outcome_again(hitl: Hitl):
    request = await hitl.ask_review()
    await hitl.client.post(f"/api/v1/hitl/{request.review_id}/reject", headers=REVIEWER, json={})
    await hitl.bus.drain()
    await hitl.ask_review(query_id=request.query_id, review_id=request.review_id)
    assert [r.decision for _, r in hitl.resolved] == ["rejected", "rejected"]


async def test_a_broker_outage_delays_the_outcome_and_loses_nothing(hitl: Hitl):
    request = await hitl.ask_review()
    hitl.bus.down = True
    response = await hitl.client.post(f"/api/v1/hitl/{request.review_id}/approve", headers=REVIEWER, json={})
    assert response.status_code == 200, "the decision is recorded whatever the broker does"
    assert await hitl.sweep() == (0, 0), "still down: nothing published"
    hitl.bus.down = False
    assert await hitl.sweep() == (0, 1)
    assert [r.decision for _, r in hitl.resolved] == ["approved"]
    assert await hitl.sweep() == (0, 0), "confirmed once, never again"


async def test_health_and_metrics(hitl: Hitl):
    assert (await hitl.client.get("/readyz")).json()["status"] == "ready"
    await hitl.ask_review()
    metrics = (await hitl.client.get("/metrics")).text
    assert 'beacon_hitl_reviews_total{event="received"}' in metrics


async def test_the_outcome_carries_when_the_review_ended(hitl: Hitl):
    request = await hitl.ask_review()
    hitl.clock.advance(minutes=7)
    await hitl.client.post(f"/api/v1/hitl/{request.review_id}/approve", headers=REVIEWER, json={})
    await hitl.bus.drain()
    (_, resolved), = hitl.resolved
    assert resolved.reviewed_at.isoformat() == "2024-11-25T10:37:00+00:00"
