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
from beacon_contracts.research_api import CompanyCreate, CompanyUpdate

from beacon_ingestion.companies.catalogue import CatalogueRow, index_names, listed_symbol
from beacon_ingestion.companies.company_data import (
    find_company,
    import_company_data,
    refresh_catalogue,
    upsert_catalogue,
)
from beacon_ingestion.companies.imports import InvalidImport
from beacon_ingestion.domain import Company, base_symbol, company_aliases, is_indian, valid_isin


def companies_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/companies")
    repo = deps.repo

    @router.get("")
    async def list_companies(
        sector: str | None = None,
        index: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        try:
            wanted = index_names([index])[0] if index and index.strip() else None
        except ValueError as exc:
            raise _invalid("index", str(exc)) from None
        total, companies = await repo.list_companies(sector=sector, index=wanted, limit=limit, offset=offset)
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
    async def import_companies(request: Request, index: str | None = None) -> dict[str, Any]:
        """An upsert: rows add or update companies; companies the file does not mention stay
        as they are. `?index=NIFTY50` tags every row with that index."""
        _, _, data = await read_file_body(request, deps.settings.import_max_bytes)
        try:
            tag = index_names([index])[0] if index and index.strip() else None
        except ValueError as exc:
            raise _invalid("index", str(exc)) from None
        try:
            result = await refresh_catalogue(deps.repo, decode_text(data), index=tag)
        except InvalidImport as exc:
            raise invalid_import(exc) from exc
        return {"total": result.total, "added": result.added, "updated": len(result.updated),
                "deactivated": result.deactivated}

    @router.post("/companies", status_code=201)
    async def add_company(body: CompanyCreate) -> dict[str, Any]:
        isin = _isin(body.isin)
        try:
            symbol = listed_symbol(body.symbol, body.exchange, isin)
        except ValueError as exc:
            raise _invalid("symbol", str(exc)) from None
        if (await deps.repo.companies_by_symbol([symbol])).get(symbol) is not None:
            raise ServiceError(409, f"Company {symbol} already exists", "CONFLICT",
                               [{"field": "symbol", "message": "use PATCH /admin/companies/{symbol} to change it"}])
        if body.fiscal_year_end_month is None and not is_indian(symbol, isin):
            raise _invalid("fiscal_year_end_month", "required for a company outside India")
        nse = base_symbol(symbol) if symbol.endswith(".NS") else None
        company = Company(
            symbol=symbol, name=body.name, nse_symbol=nse, legal_name=body.legal_name,
            aliases=list(dict.fromkeys([*(body.aliases or []),
                                        *company_aliases(body.name, nse or base_symbol(symbol), {})])),
            isin=isin, sector=body.sector, industry=body.industry, market_cap_rank=body.market_cap_rank,
            bse_code=body.bse_code, website=body.website, ir_page_url=body.ir_page_url,
            fiscal_year_end_month=body.fiscal_year_end_month or 3, indices=_indices(body.indices or []),
            active=body.active if body.active is not None else True)
        await upsert_catalogue(deps.repo, [CatalogueRow(company, set())])
        return await _detail(deps, symbol)

    @router.patch("/companies/{symbol}")
    async def update_company(symbol: str, body: CompanyUpdate) -> dict[str, Any]:
        company = await find_company(deps.repo, symbol)
        if company is None:
            raise ServiceError(404, f"Company {symbol} not found")
        given = set(body.model_fields_set)
        changes = body.model_dump(include=given)
        if "isin" in changes:
            changes["isin"] = _isin(changes["isin"])
        if "indices" in changes:
            changes["indices"] = _indices(changes["indices"] or [])
        for name in ("name", "aliases", "fiscal_year_end_month", "active"):
            if name in changes and changes[name] is None:
                raise _invalid(name, "may not be null")
        for name, value in changes.items():
            setattr(company, name, value)
        await deps.repo.upsert_companies([company])
        return await _detail(deps, company.symbol)

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


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(400, "Invalid request parameters", "VALIDATION_ERROR",
                        [{"field": field, "message": message}])


def _isin(value: str | None) -> str | None:
    if value is None:
        return None
    isin = value.strip().upper()
    if not valid_isin(isin):
        raise _invalid("isin", f"invalid ISIN {value!r} (two letters, nine characters, a check digit)")
    return isin


def _indices(values: list[str]) -> list[str]:
    try:
        return index_names(values)
    except ValueError as exc:
        raise _invalid("indices", str(exc)) from None


async def _detail(deps: ApiDeps, symbol: str) -> dict[str, Any]:
    company = (await deps.repo.companies_by_symbol([symbol]))[symbol]
    return company.detail()


def internal_companies_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/internal")

    @router.get("/companies")
    async def companies() -> dict[str, Any]:
        """Every active company with the names a question may use for it and its fiscal
        calendar (for rag-query's query understanding)."""
        _, rows = await deps.repo.list_companies(limit=10_000)
        return {"companies": [
            {"symbol": c.symbol, "name": c.name, "nse_symbol": c.nse_symbol, "sector": c.sector,
             "aliases": c.aliases, "legal_name": c.legal_name,
             "fiscal_year_end_month": c.fiscal_year_end_month, "indices": c.indices} for c in rows
        ]}

    return router
