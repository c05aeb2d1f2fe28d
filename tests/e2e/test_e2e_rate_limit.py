"""Two gateway processes sharing Redis and Postgres share one rate-limit budget per user."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pgtools import drop_schema



@pytest.fixture
async def gateways(stack, database_url):
    env = {
        "DATABASE_URL": database_url, "DB_SCHEMA": stack.ns,
        "DEV_ADMIN_EMAIL": "admin@example.com", "DEV_ADMIN_PASSWORD": "admin-password-1",
        "RATE_LIMIT_ADMIN_PER_HOUR": 3, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192,
    }
    # Started together: migrations and the first admin must survive the race.
    first, second = stack.gateway("gateway-a", **env), stack.gateway("gateway-b", **env)
    await stack.ready(first, second)
    yield first, second
    await drop_schema(database_url, stack.ns)


async def test_rate_limit_is_shared_across_gateways(gateways):
    first, second = gateways
    async with httpx.AsyncClient(timeout=10) as client:
        login = await client.post(f"{first.url}/api/v1/auth/login",
                                  json={"email": "admin@example.com", "password": "admin-password-1"})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        remaining = []
        for gateway in (first, second, first):
            response = await client.get(f"{gateway.url}/api/v1/admin/users", headers=headers)
            assert response.status_code == 200, response.text
            remaining.append(response.headers["x-ratelimit-remaining"])
            assert response.headers["x-ratelimit-limit"] == "3"
        assert remaining == ["2", "1", "0"]
        limited = await client.get(f"{second.url}/api/v1/admin/users", headers=headers)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["x-ratelimit-remaining"] == "0"
        # Tokens issued by one replica are accepted by the other (shared JWT secret + users).
        me = await client.get(f"{second.url}/api/v1/auth/me", headers=headers)
        assert me.json()["email"] == "admin@example.com"


async def test_refresh_reuse_detected_across_gateways(gateways):
    first, second = gateways
    async with httpx.AsyncClient(timeout=10) as client:
        pair = (await client.post(f"{first.url}/api/v1/auth/login",
                                  json={"email": "admin@example.com", "password": "admin-password-1"})).json()
        rotated = await client.post(f"{second.url}/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert rotated.status_code == 200
        results = await asyncio.gather(*(
            client.post(f"{gw.url}/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            for gw in (first, second)))
        assert [r.status_code for r in results] == [401, 401]
        newest = await client.post(f"{first.url}/api/v1/auth/refresh",
                                   json={"refresh_token": rotated.json()["refresh_token"]})
        assert newest.status_code == 401, "reuse revoked the whole family"
