"""The ingestion service's internal HTTP app.

The gateway authenticates, rate-limits and forwards public requests here unchanged by path
(`/api/v1/companies/...`, `/api/v1/documents/...`, `/api/v1/admin/...`), adding the trusted
headers `X-User-Id` and `X-User-Role`. Answers follow the research contract's shapes and its
error format. `/internal/*` is for other services (rag-query) only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from beacon_runtime.health import build_health_router
from beacon_runtime.http_app import ServiceApp
from beacon_runtime.telemetry import instrument_app
from beacon_runtime.http_errors import ServiceError, install_internal_error_handlers
from fastapi import APIRouter, Depends, Header, Query, Request

from beacon_ingestion.company_data import import_company_data, refresh_catalogue
from beacon_ingestion.domain import Company, normalize_symbol
from beacon_ingestion.imports import InvalidImport
from beacon_ingestion.repository import IngestionRepository
from beacon_ingestion.settings import IngestionSettings

Check = Callable[[], Awaitable[bool]]
API = "/api/v1"


@dataclass
class ApiDeps:
    settings: IngestionSettings
    repo: IngestionRepository
    checks: Mapping[str, Check] = field(default_factory=dict)
    documents: Any = None  # DocumentService, wired in bootstrap
    downloader: Any = None  # SafeDownloader, wired in bootstrap
    search: Any = None  # ChunkSearch, wired in bootstrap
    bootstrapper: Any = None  # Bootstrapper, wired in bootstrap


def create_app(deps: ApiDeps) -> ServiceApp:
    app = ServiceApp(title="ingestion (internal)", docs_url=None, redoc_url=None, openapi_url=None)
    install_internal_error_handlers(app)
    app.state.deps = deps
    app.include_router(_health(deps))
    app.include_router(_companies(deps), prefix=API)
    app.include_router(_admin_imports(deps), prefix=API)
    app.include_router(_internal_companies(deps))
    if deps.documents is not None:
        from beacon_ingestion.api_documents import admin_router, documents_router, internal_router

        app.include_router(documents_router(deps), prefix=API)
        app.include_router(admin_router(deps), prefix=API)
        app.include_router(internal_router(deps))
    instrument_app(app)
    return app


# ---------------------------------------------------------------- shared helpers


def require_admin(x_user_role: Annotated[str | None, Header()] = None) -> None:
    if (x_user_role or "").lower() != "admin":
        raise ServiceError(403, "Admin role required")


def symbol_or_404(raw: str) -> str:
    try:
        return normalize_symbol(raw)
    except ValueError:
        raise ServiceError(404, f"Company {raw} not found") from None


async def company_or_404(repo: IngestionRepository, raw: str) -> Company:
    company = await repo.get_company(symbol_or_404(raw))
    if company is None:
        raise ServiceError(404, f"Company {raw} not found")
    return company


def invalid_import(exc: InvalidImport) -> ServiceError:
    return ServiceError(400, f"Invalid file: {len(exc.errors)} row error(s)", "VALIDATION_ERROR",
                        [e.detail() for e in exc.errors])


async def read_file_body(request: Request, max_bytes: int) -> tuple[str | None, str | None, bytes]:
    """A file sent as multipart (`file` field) or as the raw body: (filename, type, bytes)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + 64 * 1024:
        raise ServiceError(413, f"File larger than {max_bytes} bytes")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ServiceError(400, "Missing file", details=[{"field": "file", "message": "required"}])
        data = await upload.read(max_bytes + 1)
        name, ctype = upload.filename, upload.content_type
    else:
        data = bytearray()
        async for part in request.stream():
            data.extend(part)
            if len(data) > max_bytes:
                break
        name, ctype, data = None, content_type, bytes(data)
    if len(data) > max_bytes:
        raise ServiceError(413, f"File larger than {max_bytes} bytes")
    if not data:
        raise ServiceError(400, "Empty file", details=[{"field": "file", "message": "empty"}])
    return name, ctype, data


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(400, "File is not UTF-8 text",
                           details=[{"field": "file", "message": "not UTF-8"}]) from None


# ---------------------------------------------------------------- routers


def _health(deps: ApiDeps) -> APIRouter:
    return build_health_router({"repository": deps.repo.ping, **deps.checks})


def _companies(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/companies")
    repo = deps.repo

    @router.get("")
    async def list_companies(
        sector: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        total, companies = await repo.list_companies(sector=sector, limit=limit, offset=offset)
        return {"total": total, "companies": [c.summary() for c in companies]}

    @router.get("/{symbol}")
    async def get_company(symbol: str) -> dict[str, Any]:
        company = await company_or_404(repo, symbol)
        fundamentals = await repo.list_fundamentals(company.symbol, limit=1)
        latest = await repo.latest_price(company.symbol)
        price = None
        if latest is not None:
            day, previous = latest
            change = None if not previous else round((day.close - previous) / previous * 100, 2)
            price = {"date": day.date.isoformat(), "close": day.close, "change_percent": change}
        return {
            **company.detail(),
            "latest_fundamentals": fundamentals[0].latest() if fundamentals else None,
            "latest_price": price,
        }

    @router.get("/{symbol}/fundamentals")
    async def fundamentals(
        symbol: str,
        period_type: Annotated[str | None, Query(pattern="^(quarterly|annual)$")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 8,
    ) -> dict[str, Any]:
        company = await company_or_404(repo, symbol)
        rows = await repo.list_fundamentals(company.symbol, period_type=period_type, limit=limit)
        return {"symbol": company.symbol, "fundamentals": [r.row() for r in rows]}

    @router.get("/{symbol}/prices")
    async def prices(
        symbol: str,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 5000,
    ) -> dict[str, Any]:
        company = await company_or_404(repo, symbol)
        if date_from and date_to and date_from > date_to:
            raise ServiceError(400, "Invalid request parameters",
                               details=[{"field": "from", "message": "must not be after 'to'"}])
        rows = await repo.list_prices(company.symbol, date_from=date_from, date_to=date_to, limit=limit)
        return {"symbol": company.symbol, "prices": [r.row() for r in rows]}

    @router.get("/{symbol}/documents")
    async def documents(
        symbol: str,
        doc_type: str | None = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        company = await company_or_404(repo, symbol)
        _, rows = await repo.list_documents(symbol=company.symbol, doc_type=doc_type, status=status,
                                            limit=limit, offset=offset)
        return {"symbol": company.symbol, "documents": [d.summary() for d in rows]}

    @router.get("/{symbol}/news")
    async def news(symbol: str, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        company = await company_or_404(repo, symbol)
        rows = await repo.list_news(company.symbol, limit=limit)
        return {"symbol": company.symbol, "news": [n.row() for n in rows]}

    return router


def _admin_imports(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

    @router.post("/companies/import")
    async def import_companies(request: Request) -> dict[str, Any]:
        _, _, data = await read_file_body(request, deps.settings.import_max_bytes)
        try:
            result = await refresh_catalogue(deps.repo, decode_text(data))
        except InvalidImport as exc:
            raise invalid_import(exc) from exc
        return {"total": result.total, "added": result.added, "updated": len(result.updated),
                "deactivated": result.deactivated}

    def data_import(kind: str):
        async def endpoint(request: Request) -> dict[str, Any]:
            name, ctype, data = await read_file_body(request, deps.settings.import_max_bytes)
            try:
                result = await import_company_data(deps.repo, kind, decode_text(data),
                                                   filename=name, content_type=ctype)
            except InvalidImport as exc:
                raise invalid_import(exc) from exc
            return result.body()

        return endpoint

    for kind in ("fundamentals", "prices", "news"):
        router.add_api_route(f"/{kind}/import", data_import(kind), methods=["POST"])
    return router


def _internal_companies(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/internal")

    @router.get("/companies")
    async def companies() -> dict[str, Any]:
        """Every active company with the names a question may use for it (for rag-query)."""
        _, rows = await deps.repo.list_companies(limit=10_000)
        return {"companies": [
            {"symbol": c.symbol, "name": c.name, "nse_symbol": c.nse_symbol, "sector": c.sector,
             "aliases": c.aliases} for c in rows
        ]}

    return router


def since_24h() -> datetime:
    return datetime.now(UTC) - timedelta(hours=24)
