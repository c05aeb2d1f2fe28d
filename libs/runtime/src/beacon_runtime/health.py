"""Liveness (the process answers) and readiness (its dependencies answer), the same in
every service: `/readyz` is 200 only when every check passes, else 503."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[bool]]


def build_health_router(checks: dict[str, Check]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if await check() else "unavailable"
            except Exception:  # noqa: BLE001 - a failing check is just "not ready"
                results[name] = "unavailable"
        ready = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    return router
