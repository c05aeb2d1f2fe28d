"""The report writer's internal HTTP app: liveness and readiness probes, nothing public."""

from __future__ import annotations

from collections.abc import Mapping

from beacon_runtime.health import Check, build_health_router
from beacon_runtime.http_app import ServiceApp
from beacon_runtime.telemetry import instrument_app


def create_health_app(checks: Mapping[str, Check]) -> ServiceApp:
    app = ServiceApp(title="report-writer (internal)", docs_url=None, redoc_url=None)
    app.include_router(build_health_router(dict(checks)))
    instrument_app(app)
    return app
