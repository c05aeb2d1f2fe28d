"""A gateway with one user per role, for research-API tests.

backend="memory" uses the in-memory twins; backend="real" uses Postgres (a fresh schema)
and Redis (a fresh key namespace) on this machine, cleaned up afterwards.
"""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager

import httpx

from beacon_gateway.bootstrap import build
from beacon_gateway.ratelimit import RateLimiter
from beacon_gateway.repository import PostgresIdentityRepository, Role
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.serve import attach_lifespan

PASSWORD = "correct horse battery"
SECRET = "s" * 40  # the JWT signing key
DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def research_stack(backend: str = "memory", *, database_url=DATABASE_URL, redis_url=REDIS_URL,
                         internal_apps=None, namespace: str | None = None, **settings):
    """With `namespace` (backend "real"), a second gateway replica sharing that namespace's
    Postgres schema and Redis keys with the stack that created it; it creates no users and
    cleans nothing up."""
    bus = InMemoryBus()
    base = {"api_keys": "k", "jwt_secret": SECRET, "argon2_time_cost": 1, "argon2_memory_kib": 8192}
    stores = {}
    replica = namespace is not None
    namespace = namespace or "t" + uuid.uuid4().hex[:12]
    if backend == "real":
        from beacon_gateway.revocations import RedisRevocations
        from beacon_runtime.jobs.redis import RedisJobStore

        stores = {
            "identity": PostgresIdentityRepository(database_url, schema=namespace),
            "limiter": RateLimiter(redis_url, namespace=namespace),
            "jobs": RedisJobStore(redis_url, namespace=namespace),
            "revocations": RedisRevocations(redis_url, namespace=namespace, ttl_s=3600),
        }
    jobs = stores.pop("jobs", None) or InMemoryJobStore()
    service = build(GatewaySettings(**{**base, **settings}), Adapters(bus=bus, jobs=jobs),
                    internal_apps=internal_apps, **stores)
    attach_lifespan(service.http, bus=bus, services=[service])
    try:
        async with service.http.router.lifespan_context(service.http):
            auth = service.http.state.research.auth
            tokens = {}
            for role in Role if not replica else ():
                await auth.create_user(f"{role.value}@example.com", PASSWORD, role.value.title(), role, 100)
                pair = await auth.login(f"{role.value}@example.com", PASSWORD)
                tokens[role] = pair.access_token
            service.namespace = namespace
            transport = httpx.ASGITransport(app=service.http)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client, tokens, service
    finally:
        await jobs.close()  # the caller's adapter: the gateway closes only its own stores
        if backend == "real" and not replica:
            await _cleanup(database_url, redis_url, namespace)


async def _cleanup(database_url: str, redis_url: str, namespace: str) -> None:
    import redis.asyncio as redis
    from pgtools import drop_schema

    await drop_schema(database_url, namespace)
    client = redis.from_url(redis_url)
    async for key in client.scan_iter(match=f"{namespace}:*"):
        await client.delete(key)
    await client.aclose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

