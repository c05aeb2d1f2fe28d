"""The review flow through the gateway, in one process as embedded mode runs it: a sensitive
question is held, a reviewer decides, and the analyst's attached stream and query record
both see the outcome."""

from __future__ import annotations

import asyncio

import pytest
from review_stack import PLAIN, SENSITIVE, EventReader, Stack, is_hold, review_stack

from beacon_gateway.repository import Role
from beacon_rag_query.domain import WITHHELD, WITHHELD_UNREVIEWED


@pytest.fixture
async def stack():
    async with review_stack() as value:
        yield value


async def poll_query(stack: Stack, query_id: str, status: str) -> dict:
    for _ in range(200):
        body = (await stack.client.get(f"/api/v1/query/{query_id}",
                                       headers=stack.headers[Role.USER])).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"query {query_id} never became {status}: {body}")


@pytest.mark.parametrize(("action", "body", "shown"), [
    ("approve", {"notes": "Response is accurate and appropriate"}, "generated"),
    ("edit", {"edited_response": "No material fraud was reported by the auditors [1].",
              "notes": "Shorter"}, "No material fraud was reported by the auditors [1]."),
    ("reject", {"notes": "Response contains unverified claims"}, WITHHELD),
])
async def test_the_decision_reaches_the_attached_stream_and_the_record(stack: Stack, action, body, shown):
    async with stack.client.stream("POST", "/api/v1/query/stream", headers=stack.headers[Role.USER],
                                   json={"question": SENSITIVE}) as response:
        query_id = response.headers["x-query-id"]
        events = EventReader(response)
        before = await events.until(is_hold)
        hold = before[-1]
        assert hold.event == "node" and hold.data["review_id"]
        assert "fraud" in hold.data["reason"]
        assert [e.event for e in before].count("token") == 0, "nothing of the answer before review"

        held = (await stack.client.get(f"/api/v1/query/{query_id}", headers=stack.headers[Role.USER])).json()
        assert held["status"] == "hitl_pending" and held["response"] is None
        assert held["review"]["status"] == "pending" and held["review"]["id"] == hold.data["review_id"]

        pending = (await stack.client.get("/api/v1/hitl/pending", headers=stack.headers[Role.REVIEWER])).json()
        assert [r["query_id"] for r in pending["reviews"]] == [query_id]
        review_id = pending["reviews"][0]["id"]
        detail = (await stack.client.get(f"/api/v1/hitl/{review_id}", headers=stack.headers[Role.REVIEWER])).json()
        generated = detail["generated_response"]
        assert detail["citations"][0]["page_number"] == 88
        assert detail["workflow_state"]["fact_check_result"]["is_faithful"] is True
        decided = await stack.decide(review_id, action, body)
        assert decided.status_code == 200, decided.text
        assert decided.json()["reviewed_by"] == "reviewer@example.com"

        after = await events.rest()  # the same connection, still open
    shown = generated if shown == "generated" else shown
    assert [e.event for e in after][0] == "node" and after[0].data["status"] == "completed"
    assert after[-1].event == "done" and after[-1].data["id"] == query_id
    assert after[-1].data["review"] == {"decision": decided.json()["status"],
                                        "reviewed_by": "reviewer@example.com"}
    assert "".join(e.data["content"] for e in after if e.event == "token") == shown
    ids = [int(e.id) for e in before + after]
    assert ids == list(range(len(ids))), "one stream: no frame lost or repeated"

    record = await poll_query(stack, query_id, "completed")
    assert record["response"] == shown
    assert record["review"]["reviewed_by"] == "reviewer@example.com"
    assert record["review"]["status"] == decided.json()["status"]
    assert bool(record["citations"]) is (action != "reject")


async def test_a_synchronous_query_answers_at_once_with_hitl_pending(stack: Stack):
    response = await stack.client.post("/api/v1/query", headers=stack.headers[Role.USER],
                                       json={"question": SENSITIVE})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "hitl_pending" and body["response"] is None and body["id"]
    plain = await stack.client.post("/api/v1/query", headers=stack.headers[Role.USER],
                                    json={"question": PLAIN})
    assert plain.status_code == 200 and plain.json()["status"] == "completed"


async def test_a_held_stream_waits_past_the_idle_timeout_ends_at_its_cap_and_resumes():
    async with review_stack(gateway={"sse_idle_timeout_s": 0.2, "sse_max_lifetime_s": 1.0}) as stack:
        async with stack.client.stream("POST", "/api/v1/query/stream",
                                       headers=stack.headers[Role.USER],
                                       json={"question": SENSITIVE}) as response:
            query_id = response.headers["x-query-id"]
            events = EventReader(response)
            seen = await events.until(is_hold)
            # Past the idle timeout and the lifetime cap at once: the reader checks the idle
            # timeout, which a held answer is exempt from, before the cap.
            stack.clock.now += 1.1
            seen += await events.rest()  # ends at the lifetime cap
        assert is_hold(seen[-1]), "no error, no done: the stream was capped while held"
        # The gateway decides when the stream ends: a cancel it meant to send would wait
        # in its grace period (held open for the test) now.
        assert stack.pending_cancels == set(), "leaving a held answer cancels nothing"
        pending = (await stack.client.get("/api/v1/hitl/pending", headers=stack.headers[Role.ADMIN])).json()
        assert (await stack.decide(pending["reviews"][0]["id"], "approve")).status_code == 200
        async with stack.client.stream("GET", f"/api/v1/query/stream/{query_id}",
                                       headers={**stack.headers[Role.USER], "Last-Event-ID": seen[-1].id}
                                       ) as response:
            rest = await EventReader(response).rest()
        assert rest[-1].event == "done"
        assert [int(e.id) for e in seen + rest] == list(range(len(seen) + len(rest)))


async def test_an_unreviewed_answer_expires_and_is_withheld():
    async with review_stack(hitl={"review_ttl_s": 0.5, "review_sweep_interval_s": 0.1}) as stack:
        async with stack.client.stream("POST", "/api/v1/query/stream",
                                       headers=stack.headers[Role.USER],
                                       json={"question": SENSITIVE}) as response:
            query_id = response.headers["x-query-id"]
            events = await EventReader(response).rest()
        review_id = next(e.data["review_id"] for e in events if is_hold(e))
        assert events[-1].event == "done" and events[-1].data["review"]["reviewed_by"] == "system"
        assert "".join(e.data["content"] for e in events if e.event == "token") == WITHHELD_UNREVIEWED
        record = await poll_query(stack, query_id, "completed")
        assert record["review"]["status"] == "expired" and record["citations"] == []
        detail = (await stack.client.get(f"/api/v1/hitl/{review_id}", headers=stack.headers[Role.REVIEWER])).json()
        assert (detail["status"], detail["reviewed_by"]) == ("expired", "system")
        assert (await stack.client.get("/api/v1/hitl/pending", headers=stack.headers[Role.REVIEWER])).json()["total"] == 0
        late = await stack.decide(review_id, "approve")
        assert late.status_code == 409 and late.json()["error"]["code"] == "CONFLICT"


async def test_roles_conflicts_and_the_audit_trail_through_the_gateway(stack: Stack):
    query_id, _ = await stack.stream_until_hold()
    user = stack.headers[Role.USER]
    assert (await stack.client.get("/api/v1/hitl/pending", headers=user)).status_code == 403
    pending = (await stack.client.get("/api/v1/hitl/pending", headers=stack.headers[Role.ADMIN])).json()
    review_id = pending["reviews"][0]["id"]
    assert (await stack.client.post(f"/api/v1/hitl/{review_id}/approve", headers=user, json={})).status_code == 403
    first, second = await asyncio.gather(stack.decide(review_id, "approve"),
                                         stack.decide(review_id, "reject", role=Role.ADMIN))
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    third = await stack.decide(review_id, "edit", {"edited_response": "Something else."})
    assert third.status_code == 409 and third.json()["error"]["code"] == "CONFLICT"
    assert (await stack.client.get(f"/api/v1/hitl/{review_id}/audit",
                                   headers=stack.headers[Role.REVIEWER])).status_code == 403
    trail = (await stack.client.get(f"/api/v1/hitl/{review_id}/audit",
                                    headers=stack.headers[Role.ADMIN])).json()
    assert [e["action"] for e in trail["entries"]][0] == "received" and len(trail["entries"]) == 2
    await poll_query(stack, query_id, "completed")


async def test_query_statistics_count_a_held_answer_until_its_review(stack: Stack):
    await stack.client.post("/api/v1/query", headers=stack.headers[Role.USER], json={"question": PLAIN})
    held = (await stack.client.post("/api/v1/query", headers=stack.headers[Role.USER],
                                    json={"question": SENSITIVE})).json()
    admin = stack.headers[Role.ADMIN]
    stats = (await stack.client.get("/api/v1/admin/stats/queries", headers=admin)).json()
    assert stats["by_status"] == {"completed": 1, "hitl_pending": 1}
    pending = (await stack.client.get("/api/v1/hitl/pending", headers=admin)).json()
    await stack.decide(pending["reviews"][0]["id"], "reject")
    await poll_query(stack, held["id"], "completed")
    stats = (await stack.client.get("/api/v1/admin/stats/queries", headers=admin)).json()
    assert stats["by_status"] == {"completed": 2}


async def test_admin_health_includes_hitl(stack: Stack):
    health = (await stack.client.get("/api/v1/admin/health")).json()
    assert health["services"]["hitl"] == "healthy" and health["services"]["rag-query"] == "healthy"
