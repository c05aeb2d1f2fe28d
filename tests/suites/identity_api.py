"""Login, refresh rotation, logout, /auth/me and user and key administration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from research_stack import PASSWORD, SECRET, bearer, research_stack

from beacon_gateway.auth import AuthService
from beacon_gateway.repository import Role


@pytest.fixture
async def stack(backend):
    async with research_stack(backend, login_failures_allowed=3) as value:
        yield value


async def login(client, email="user@example.com", password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_answers_as_the_contract_shows(stack):
    client, *_ = stack
    response = await login(client, email="USER@example.com")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600


async def test_wrong_password_and_unknown_email_look_the_same(stack):
    client, *_ = stack
    wrong = await login(client, password="nope")
    unknown = await login(client, email="ghost@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"] == {
        "code": "UNAUTHORIZED", "message": "Invalid email or password", "details": []}


async def test_repeated_failures_are_stopped(stack):
    client, *_ = stack
    for _ in range(3):
        assert (await login(client, password="bad")).status_code == 401
    blocked = await login(client)  # even the right password, for now
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "RATE_LIMITED"
    assert int(blocked.headers["retry-after"]) > 0


async def test_me_shows_the_user(stack):
    client, tokens, _ = stack
    response = await client.get("/api/v1/auth/me", headers=bearer(tokens[Role.REVIEWER]))
    assert response.status_code == 200
    assert response.json() == {
        "id": 2, "email": "reviewer@example.com", "full_name": "Reviewer", "role": "reviewer",
        "daily_query_limit": 100, "queries_today": 0,
    }


async def test_refresh_rotates_and_reuse_revokes_the_family(stack):
    client, *_ = stack
    first = (await login(client)).json()
    rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The old token again: theft assumed, the whole family dies, including the new token.
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401


async def test_access_token_is_not_a_refresh_token(stack):
    client, tokens, _ = stack
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens[Role.USER]})
    assert response.status_code == 401


async def test_logout_revokes_the_session(stack):
    client, *_ = stack
    pair = (await login(client)).json()
    out = await client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]))
    assert out.status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401


async def test_expired_access_token_is_401(stack):
    client, _, service = stack
    # Tokens issued by the same secret two hours ago (TTL one hour): expired now, no waiting.
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    issuer = AuthService(service.http.state.research.auth.repo, secret=SECRET,
                         argon2_time_cost=1, argon2_memory_kib=8192, clock=lambda: two_hours_ago)
    pair = await issuer.login("user@example.com", PASSWORD)
    response = await client.get("/api/v1/auth/me", headers=bearer(pair.access_token))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Token expired"
    fresh = (await login(client)).json()["access_token"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh))).status_code == 200


async def test_admin_creates_lists_and_disables_users(stack):
    client, tokens, _ = stack
    admin = bearer(tokens[Role.ADMIN])
    created = await client.post("/api/v1/admin/users", headers=admin, json={
        "email": "new@example.com", "password": "long enough pw", "full_name": "New Analyst",
        "role": "user", "daily_query_limit": 7})
    assert created.status_code == 201
    user = created.json()
    assert user["daily_query_limit"] == 7 and "password_hash" not in user
    duplicate = await client.post("/api/v1/admin/users", headers=admin, json={
        "email": "NEW@example.com", "password": "long enough pw", "full_name": "x"})
    assert duplicate.status_code == 409
    listing = (await client.get("/api/v1/admin/users?limit=2&offset=3", headers=admin)).json()
    assert listing["total"] == 4 and [u["email"] for u in listing["users"]] == ["new@example.com"]
    new_token = (await login(client, "new@example.com", "long enough pw")).json()["access_token"]
    assert (await client.post(f"/api/v1/admin/users/{user['id']}/disable", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(new_token))).status_code == 401
    assert (await login(client, "new@example.com", "long enough pw")).status_code == 401


async def test_create_user_validation_uses_the_error_format(stack):
    client, tokens, _ = stack
    response = await client.post("/api/v1/admin/users", headers=bearer(tokens[Role.ADMIN]),
                                 json={"email": "bad", "password": "short", "full_name": ""})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in body["error"]["details"]} >= {"email", "password", "full_name"}


async def test_admin_api_keys_work_on_the_report_api_until_revoked(stack):
    client, tokens, _ = stack
    admin = bearer(tokens[Role.ADMIN])
    created = (await client.post("/api/v1/admin/api-keys", headers=admin, json={"name": "frontend"})).json()
    key = created["api_key"]
    assert key.startswith("bk_") and created["prefix"] == key[:10]
    listed = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()["keys"]
    assert "api_key" not in listed[0], "a key is shown once, never listed"
    assert (await client.get("/status/x", headers={"X-API-Key": key})).status_code == 404
    assert (await client.delete(f"/api/v1/admin/api-keys/{created['id']}", headers=admin)).status_code == 200
    assert (await client.get("/status/x", headers={"X-API-Key": key})).status_code == 401


async def test_malformed_json_is_a_validation_error(stack):
    client, *_ = stack
    response = await client.post("/api/v1/auth/login", content=b"{nope",
                                 headers={"Content-Type": "application/json", "X-Request-ID": "rq-9"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["request_id"] == "rq-9"


async def test_failures_from_one_address_do_not_lock_the_account_elsewhere(stack):
    import httpx

    client, _, service = stack
    for _ in range(3):
        assert (await login(client, password="bad")).status_code == 401
    assert (await login(client)).status_code == 429
    elsewhere = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http, client=("10.1.2.3", 5000)),
                                  base_url="http://test")
    async with elsewhere:
        assert (await login(elsewhere)).status_code == 200
