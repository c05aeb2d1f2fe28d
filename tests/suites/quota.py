"""The rate-limit bucket each route's policy line declares, charged only for a request that
passed validation, and a daily limit an admin raises. Run on the twins and on Redis."""

from __future__ import annotations

import pytest
from research_stack import bearer, research_stack

from beacon_gateway.repository import Role

QUESTION = {"question": "What was Reliance's revenue in FY2024?"}


@pytest.fixture
async def stack(backend):
    # Nothing answers questions here: POST /query gives up at once with 202 "processing".
    async with research_stack(backend, query_timeout_s=0.01) as value:
        yield value


async def queries_today(client, token) -> int:
    return (await client.get("/api/v1/auth/me", headers=bearer(token))).json()["queries_today"]


async def test_a_refused_question_spends_no_quota(stack):
    client, tokens, _ = stack
    user = bearer(tokens[Role.USER])
    for body in ({"question": "short"}, {"question": "\x00" * 12}, {**QUESTION, "extra": 1}):
        refused = await client.post("/api/v1/query", headers=user, json=body)
        assert refused.status_code == 400, body
    refused = await client.post("/api/v1/query/stream", headers=user, json={"question": "short"})
    assert refused.status_code == 400
    assert await queries_today(client, tokens[Role.USER]) == 0
    accepted = await client.post("/api/v1/query", headers=user, json=QUESTION)
    assert accepted.status_code == 202
    assert accepted.headers["x-ratelimit-remaining"] == "99"
    assert await queries_today(client, tokens[Role.USER]) == 1


async def test_an_admin_raises_a_users_daily_limit_and_todays_questions_still_count(stack):
    client, tokens, _ = stack
    admin, user = bearer(tokens[Role.ADMIN]), bearer(tokens[Role.USER])
    user_id = (await client.get("/api/v1/auth/me", headers=user)).json()["id"]
    lowered = await client.patch(f"/api/v1/admin/users/{user_id}", headers=admin,
                                 json={"daily_query_limit": 2})
    assert lowered.status_code == 200 and lowered.json()["daily_query_limit"] == 2
    assert [(await client.post("/api/v1/query", headers=user, json=QUESTION)).status_code
            for _ in range(3)] == [202, 202, 429]
    raised = await client.patch(f"/api/v1/admin/users/{user_id}", headers=admin,
                                json={"daily_query_limit": 3})
    assert raised.json()["daily_query_limit"] == 3
    assert [(await client.post("/api/v1/query", headers=user, json=QUESTION)).status_code
            for _ in range(2)] == [202, 429], "one more today, not three"
    me = (await client.get("/api/v1/auth/me", headers=user)).json()
    assert (me["daily_query_limit"], me["queries_today"]) == (3, 3)
    unknown = await client.patch("/api/v1/admin/users/9999", headers=admin, json={"daily_query_limit": 5})
    assert unknown.status_code == 404
    refused = await client.patch(f"/api/v1/admin/users/{user_id}", headers=user, json={"daily_query_limit": 500})
    assert refused.status_code == 403
