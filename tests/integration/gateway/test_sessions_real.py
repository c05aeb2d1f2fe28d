"""Sessions (tests/suites/sessions.py) on Postgres and Redis, across two gateway replicas
sharing them, and the Redis entries' expiry."""

import pytest
from research_stack import bearer, research_stack
from suites.sessions import *  # the suite's tests and fixtures
from suites.sessions import ME, login

from beacon_gateway.repository import Role
from beacon_gateway.revocations import RedisRevocations


@pytest.fixture
def backend() -> str:
    return "real"


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
