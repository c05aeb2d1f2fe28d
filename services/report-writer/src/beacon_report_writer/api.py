"""The report writer's internal HTTP app: liveness and readiness probes, nothing public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from beacon_runtime.telemetry import fastapi_telemetry, instrument_app

Check = Callable[[], Awaitable[bool]]


def create_health_app(checks: Mapping[str, Check]) -> FastAPI:
    app = FastAPI(telemetry=fastapi_telemetry(), title="report-writer (internal)", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        results = {name: await _safe(check) for name, check in checks.items()}
        ready = all(results.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    instrument_app(app)
    return app


async def _safe(check: Check) -> bool:
    try:
        return bool(await check())
    except Exception:  # noqa: BLE001 - a probe that raises is a probe that failed
        return False
