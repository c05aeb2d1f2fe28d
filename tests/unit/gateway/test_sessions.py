"""Sessions end when they are ended: logout, refresh-token reuse and disabling a user stop
the access tokens at once, on every gateway replica, and the entries that do it expire."""

from __future__ import annotations

import pytest
from research_stack import PASSWORD, bearer, research_stack

from beacon_gateway.repository import Role
from beacon_gateway.revocations import InMemoryRevocations, RedisRevocations

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


@pytest.mark.integration
async def test_a_session_ended_on_one_replica_is_refused_by_the_other():
    async with research_stack("real") as (first, tokens, service):
        async with research_stack("real", namespace=service.namespace) as (second, _, _):
            session = await login(first)
            for replica in (first, second):
                assert (await replica.get(ME, headers=bearer(session["access_token"]))).status_code == 200
            assert (await first.post("/api/v1/auth/logout", headers=bearer(session["access_token"]))).status_code == 204
            assert (await second.get(ME, headers=bearer(session["access_token"]))).status_code == 401

            reused = await login(second)
            await second.post("/api/v1/auth/refresh", json={"refresh_token": reused["refresh_token"]})
            await second.post("/api/v1/auth/refresh", json={"refresh_token": reused["refresh_token"]})
            assert (await first.get(ME, headers=bearer(reused["access_token"]))).status_code == 401

            disabled = await login(first)
            me = (await first.get(ME, headers=bearer(disabled["access_token"]))).json()
            admin = bearer(tokens[Role.ADMIN])
            assert (await second.post(f"/api/v1/admin/users/{me['id']}/disable", headers=admin)).status_code == 200
            assert (await second.post(f"/api/v1/admin/users/{me['id']}/enable", headers=admin)).status_code == 200
            assert (await first.get(ME, headers=bearer(disabled["access_token"]))).status_code == 401
            # Other users' sessions are untouched.
            assert (await first.get(ME, headers=admin)).status_code == 200


async def test_memory_entries_live_as_long_as_a_token_can():
    now = [1000.0]
    revocations = InMemoryRevocations(ttl_s=60, clock=lambda: now[0])
    await revocations.revoke_family("f1")
    await revocations.revoke_user(7, up_to=1000)
    assert await revocations.is_revoked("f1", 1, issued_at=990)
    assert await revocations.is_revoked("f2", 7, issued_at=1000)
    assert not await revocations.is_revoked("f2", 7, issued_at=1001), "issued after the revocation"
    now[0] = 1060.5  # every token issued before the revocation has expired by now
    assert not await revocations.is_revoked("f1", 1, issued_at=990)
    assert not await revocations.is_revoked("f2", 7, issued_at=1000)


@pytest.mark.integration
async def test_redis_entries_expire_with_the_token_life(redis_url, unique_name):
    import redis.asyncio as redis

    revocations = RedisRevocations(redis_url, namespace=unique_name, ttl_s=60)
    client = redis.from_url(redis_url)
    try:
        await revocations.revoke_family("f1")
        await revocations.revoke_user(7, up_to=1000)
        assert await revocations.is_revoked("f1", 1, issued_at=990)
        assert await revocations.is_revoked("f2", 7, issued_at=1000)
        assert not await revocations.is_revoked("f2", 7, issued_at=1001)
        for key in (f"{unique_name}:revoked:family:f1", f"{unique_name}:revoked:user:7"):
            assert 0 < await client.ttl(key) <= 60
    finally:
        async for key in client.scan_iter(match=f"{unique_name}:*"):
            await client.delete(key)
        await client.aclose()
        await revocations.close()
