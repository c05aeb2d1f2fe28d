"""The public FastAPI app: both contracts, docs, health.

Every public route is a FastAPI route of the `PublicRoute` class with its policy on its own
line (`allow(...)`, see policy.py): report.py (the report API), identity.py (auth, users,
keys), query.py (questions and streams), admin_health.py, and forward.py (routes other
services answer). To add one, add a route to the module of its kind.
"""

from __future__ import annotations

import time

from fastapi.middleware.cors import CORSMiddleware

from beacon_gateway.api.admin_health import build_admin_health_router
from beacon_gateway.api.docs import install_offline_docs
from beacon_gateway.api.errors import install_error_handlers
from beacon_gateway.api.forward import build_forward_router
from beacon_gateway.api.identity import build_identity_router
from beacon_gateway.api.openapi import install_openapi
from beacon_gateway.api.policy import ResearchDeps
from beacon_gateway.api.query import QueryDeps, build_query_router
from beacon_gateway.api.report import ReportDeps, build_report_router
from beacon_gateway.api.report_documents import build_report_documents_router
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
        docs_url=None,  # offline pages instead (docs.py)
        redoc_url=None,
        # The report routes are the app's own: the most requested routes skip the matching
        # through included routers (~15 % of GET /status, bench/report_api_instructions.py).
        routes=build_report_router().routes,
    )
    # Every route's body limit unless its policy gives its own (uploads, imports).
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.report = report
    app.state.research = research
    app.state.query = query
    app.state.upstreams = upstreams
    install_error_handlers(app)
    app.include_router(build_report_documents_router(upload_max_bytes=settings.upload_max_bytes))
    app.include_router(build_identity_router())
    # Query routes first: POST /query/stream must not be taken for a forwarded path.
    app.include_router(build_query_router())
    app.include_router(build_forward_router(
        upload_max_bytes=settings.upload_max_bytes, import_max_bytes=settings.import_max_bytes))
    app.include_router(build_admin_health_router(checks, time.monotonic()))
    app.include_router(build_health_router(checks))
    install_openapi(app)
    install_offline_docs(app)
    if settings.cors_origin_list():
        app.add_edge_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                            "X-RateLimit-Reset", "Retry-After"],
        )
    # Outermost: request id, trace context, metrics, security headers (even on a 500).
    instrument_app(app, public=True)
    return app

