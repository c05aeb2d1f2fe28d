"""A gateway on in-memory twins with one user per role, for research-API tests."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx

from beacon_gateway.bootstrap import build
from beacon_gateway.repository import Role
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.serve import attach_lifespan

PASSWORD = "correct horse battery"


@asynccontextmanager
async def research_stack(**settings):
    bus = InMemoryBus()
    base = {"api_keys": "k", "jwt_secret": "s" * 40}
    service = build(GatewaySettings(**{**base, **settings}), bus=bus, jobs=InMemoryJobStore())
    attach_lifespan(service.http, bus=bus, services=[service])
    async with service.http.router.lifespan_context(service.http):
        auth = service.http.state.research.auth
        tokens = {}
        for role in Role:
            await auth.create_user(f"{role.value}@example.com", PASSWORD, role.value.title(), role, 100)
            pair = await auth.login(f"{role.value}@example.com", PASSWORD)
            tokens[role] = pair.access_token
        transport = httpx.ASGITransport(app=service.http)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, tokens, service


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
