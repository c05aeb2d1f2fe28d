"""Sessions end when they are ended: logout, refresh-token reuse and disabling a user stop
the access tokens at once. Run on the twins (tests/unit/gateway) and on Postgres and Redis
(tests/integration/gateway, which also runs two replicas)."""

from __future__ import annotations

import pytest
from research_stack import PASSWORD, bearer, research_stack

from beacon_gateway.repository import Role

ME = "/api/v1/auth/me"


@pytest.fixture
async def stack(backend):
    async with research_stack(backend) as value:
        yield value


async def login(client, email="user@example.com"):
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()


async def test_logout_ends_the_access_token_at_once(stack):
    client, *_ = stack
    session, other = await login(client), await login(client)
    assert (await client.get(ME, headers=bearer(session["access_token"]))).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=bearer(session["access_token"]))).status_code == 204
    refused = await client.get(ME, headers=bearer(session["access_token"]))
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Session has ended"
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refresh.status_code == 401
    # Another login of the same user is another session: it goes on.
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 200


async def test_refresh_reuse_ends_the_access_tokens_of_the_family(stack):
    client, *_ = stack
    first = await login(client)
    rotated = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert (await client.get(ME, headers=bearer(rotated["access_token"]))).status_code == 200
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    for token in (first["access_token"], rotated["access_token"]):
        assert (await client.get(ME, headers=bearer(token))).status_code == 401


async def test_disabling_a_user_ends_every_session_for_good(stack):
    client, tokens, _ = stack
    admin = bearer(tokens[Role.ADMIN])
    session = await login(client)
    me = (await client.get(ME, headers=bearer(session["access_token"]))).json()
    assert (await client.post(f"/api/v1/admin/users/{me['id']}/disable", headers=admin)).status_code == 200
    assert (await client.get(ME, headers=bearer(session["access_token"]))).status_code == 401
    assert (await client.post(f"/api/v1/admin/users/{me['id']}/enable", headers=admin)).status_code == 200
    # Enabled again, the user must log in again: the old tokens stay dead.
    assert (await client.get(ME, headers=bearer(session["access_token"]))).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refresh.status_code == 401
