"""The ingestion service's internal HTTP app.

The gateway authenticates, rate-limits and forwards public requests here unchanged by path
(`/api/v1/companies/...`, `/api/v1/documents/...`, `/api/v1/admin/...`), adding the trusted
headers `X-User-Id` and `X-User-Role`. Answers follow the research contract's shapes and its
error format. `/internal/*` is for other services only (rag-query's search; the gateway's and
report-writer's customer material, `/internal/material/*`).
"""

from __future__ import annotations

from beacon_runtime.health import build_health_router
from beacon_runtime.http_app import ServiceApp
from beacon_runtime.http_errors import install_internal_error_handlers
from beacon_runtime.telemetry import instrument_app

from beacon_ingestion.api.common import API, ApiDeps
from beacon_ingestion.api.companies import (
    admin_imports_router,
    companies_router,
    internal_companies_router,
)
from beacon_ingestion.api.documents import admin_router, documents_router, internal_router
from beacon_ingestion.api.material import material_router


def create_app(deps: ApiDeps) -> ServiceApp:
    app = ServiceApp(title="ingestion (internal)", docs_url=None, redoc_url=None, openapi_url=None)
    install_internal_error_handlers(app)
    app.state.deps = deps
    app.include_router(build_health_router({"repository": deps.repo.ping, **deps.checks}))
    app.include_router(companies_router(deps), prefix=API)
    app.include_router(admin_imports_router(deps), prefix=API)
    app.include_router(internal_companies_router(deps))
    if deps.documents is not None:
        app.include_router(documents_router(deps), prefix=API)
        app.include_router(admin_router(deps), prefix=API)
        app.include_router(internal_router(deps))
    if deps.material is not None:
        app.include_router(material_router(deps, deps.material))
    instrument_app(app)
    return app
