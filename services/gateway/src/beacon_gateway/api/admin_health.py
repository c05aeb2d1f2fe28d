"""GET /api/v1/admin/health: the whole system's health, as the research contract shows it."""

from __future__ import annotations

import time

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from beacon_contracts.research_api import SystemHealth
from beacon_gateway.api.policy import PUBLIC, PublicRoute, allow

VERSION = "0.1.0"


def build_admin_health_router(checks: dict, started_at: float) -> APIRouter:
    router = APIRouter(route_class=PublicRoute, tags=["admin"])

    @router.get("/api/v1/admin/health", response_model=SystemHealth, responses={
        503: {"model": SystemHealth, "description": "Degraded: a dependency does not answer"}},
        **allow(PUBLIC))
    async def health(request: Request) -> JSONResponse:
        """`healthy` when every dependency answers, `degraded` otherwise (HTTP 503)."""
        services: dict[str, str] = {}
        for name, check in checks.items():
            services[name] = "healthy" if await _safe(check) else "unhealthy"
        for name, client in request.app.state.upstreams.items():
            services[name] = await _upstream(client)
        healthy = all(state == "healthy" for state in services.values())
        body = {
            "status": "healthy" if healthy else "degraded",
            "services": services,
            "version": VERSION,
            "uptime_seconds": int(time.monotonic() - started_at),
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    return router


async def _safe(check) -> bool:
    try:
        return bool(await check())
    except Exception:  # noqa: BLE001 - a failing probe is an unhealthy dependency
        return False


async def _upstream(client: httpx.AsyncClient) -> str:
    try:
        response = await client.get("/readyz", timeout=2.0)
    except httpx.HTTPError:
        return "unhealthy"
    return "healthy" if response.status_code == 200 else "unhealthy"
