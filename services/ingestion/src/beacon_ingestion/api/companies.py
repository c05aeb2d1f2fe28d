"""Company, company-data import and internal company endpoints of the internal app."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from beacon_runtime.http_errors import ServiceError
from fastapi import APIRouter, Depends, Query, Request

from beacon_ingestion.api.common import (
    ApiDeps,
    company_or_404,
    decode_text,
    invalid_import,
    read_file_body,
    require_admin,
)
from beacon_ingestion.companies.company_data import import_company_data, refresh_catalogue
from beacon_ingestion.companies.imports import InvalidImport


def companies_router(deps: ApiDeps) -> APIRouter:
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


def admin_imports_router(deps: ApiDeps) -> APIRouter:
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


def internal_companies_router(deps: ApiDeps) -> APIRouter:
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
