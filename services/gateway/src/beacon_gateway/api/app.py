"""The public FastAPI app: both contracts, docs, health."""

from __future__ import annotations

import time

from fastapi.middleware.cors import CORSMiddleware

from beacon_gateway.api.admin_health import build_admin_health_router
from beacon_gateway.api.errors import install_error_handlers
from beacon_gateway.api.forward import build_forward_router
from beacon_gateway.api.guard import ResearchDeps
from beacon_gateway.api.identity import build_identity_router
from beacon_gateway.api.middleware import BodySizeLimitMiddleware
from beacon_gateway.api.query import QueryDeps, build_query_router
from beacon_gateway.api.report import ReportApi, ReportDeps
from beacon_gateway.api.report_openapi import with_report_operations
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.health import Check, build_health_router
from beacon_runtime.http_app import ServiceApp
from beacon_runtime.telemetry import instrument_app


def create_app(
    settings: GatewaySettings,
    *,
    report: ReportDeps,
    research: ResearchDeps,
    query: QueryDeps,
    upstreams: dict,
    checks: dict[str, Check],
) -> ServiceApp:
    app = ServiceApp(
        title="Beacon API",
        version="0.1.0",
        description=(
            "Report-section API (`/generate`, `/refine`, `/status/{job_id}`) and the research "
            "API under `/api/v1`."
        ),
    )
    app.state.report = report
    app.state.research = research
    app.state.query = query
    app.state.upstreams = upstreams
    install_error_handlers(app)
    app.include_router(build_identity_router())
    # Query routes first: POST /query/stream must not be taken for a forwarded path.
    app.include_router(build_query_router())
    app.include_router(build_forward_router())
    app.include_router(build_admin_health_router(checks, time.monotonic()))
    app.include_router(build_health_router(checks))
    # The report API is served by its own ASGI layer (see api/report.py), inside the body
    # limit, CORS and request context, so those apply to it as to every route. All four
    # are edge layers (outside FastAPI's own, see beacon_runtime.http_app): the report
    # routes, the most requested, then skip FastAPI's per-request layers altogether.
    app.add_edge_middleware(ReportApi, deps=report)
    app.openapi = with_report_operations(app.openapi)
    app.add_edge_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list():
        app.add_edge_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                            "X-RateLimit-Reset", "Retry-After"],
        )
    # Outermost: request id, trace context, metrics, security headers (even on a 413).
    instrument_app(app, public=True)
    return app
