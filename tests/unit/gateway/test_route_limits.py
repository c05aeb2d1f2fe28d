"""What each route's policy line declares besides its roles: the body limit (uploads and
imports take ingestion's, not the gateway's default) and the rate-limit bucket, charged
only for a request that passed validation."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from research_stack import bearer, research_stack

from beacon_gateway.repository import Role

QUESTION = {"question": "What was Reliance's revenue in FY2024?"}


def echo_ingestion() -> FastAPI:
    upstream = FastAPI()

    @upstream.post("/api/v1/documents/upload", status_code=202)
    async def upload(request: Request):
        return {"document_id": 1, "status": "pending", "message": f"{len(await request.body())} bytes"}

    return upstream


async def test_an_upload_larger_than_the_default_limit_reaches_ingestion():
    async with research_stack(max_body_bytes=1024, upload_max_bytes=4096,
                              internal_apps={"ingestion": echo_ingestion()}) as (client, tokens, _):
        admin = bearer(tokens[Role.ADMIN])
        files = {"file": ("a.pdf", b"%PDF-" + b"x" * 3000, "application/pdf")}
        accepted = await client.post("/api/v1/documents/upload", headers=admin, files=files,
                                     data={"doc_type": "annual_report"})
        assert accepted.status_code == 202, accepted.text
        assert int(accepted.json()["message"].split()[0]) > 3000, "the whole multipart body arrived"
        # Everything else keeps the default.
        login = await client.post("/api/v1/auth/login", json={"email": "a@b.io", "password": "x" * 2000})
        assert login.status_code == 413


async def test_an_upload_beyond_the_upload_limit_is_413_in_the_research_format():
    async with research_stack(upload_max_bytes=4096,
                              internal_apps={"ingestion": echo_ingestion()}) as (client, tokens, _):
        admin = bearer(tokens[Role.ADMIN])
        limit = 4096 + 64 * 1024  # the file's limit plus the multipart envelope around it
        files = {"file": ("a.pdf", b"%PDF-" + b"x" * limit, "application/pdf")}
        declared = await client.post("/api/v1/documents/upload", headers=admin, files=files)
        assert declared.status_code == 413
        assert declared.json()["error"] == {"code": "PAYLOAD_TOO_LARGE", "details": [],
                                            "message": f"Request body exceeds {limit} bytes"}

        async def chunks():
            for _ in range(limit // 8192 + 2):
                yield b"x" * 8192

        streamed = await client.post("/api/v1/documents/upload", headers={
            **admin, "Content-Type": "multipart/form-data; boundary=x"}, content=chunks())
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


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
