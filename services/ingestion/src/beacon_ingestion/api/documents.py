"""Document, bootstrap, statistics and internal search endpoints of the internal app."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from beacon_contracts.search import SearchRequest, SearchResponse
from beacon_contracts.text import Line, Text
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.http_errors import ServiceError
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from beacon_ingestion.api.common import ApiDeps, read_file_body, require_admin, since_24h
from beacon_ingestion.companies.company_data import find_company
from beacon_ingestion.documents import default_title
from beacon_ingestion.domain import (
    DOC_TYPES,
    MATERIAL,
    DocumentStatus,
    NewDocument,
    normalize_symbol,
    parse_period,
)
from beacon_ingestion.pipeline.download import DownloadRefused

_TAG = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(400, "Invalid request parameters", "VALIDATION_ERROR",
                        [{"field": field, "message": message}])


class DocumentMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_symbol: Line | None = None
    doc_type: Line
    fiscal_period: Line | None = None
    title: Annotated[Text, Field(max_length=300)] | None = None
    document_date: date | None = None

    @field_validator("doc_type")
    @classmethod
    def _doc_type(cls, value: str) -> str:
        if value == MATERIAL:  # a report-API key's own, never a research document
            raise ValueError("customer material is uploaded with the report API's POST /documents")
        if value not in DOC_TYPES:
            raise ValueError(f"must be one of {', '.join(sorted(DOC_TYPES - {MATERIAL}))}")
        return value

    @field_validator("fiscal_period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        return parse_period(value).label if value else None

    @field_validator("company_symbol")
    @classmethod
    def _symbol(cls, value: str | None) -> str | None:
        return normalize_symbol(value) if value else None


class IngestBody(DocumentMeta):
    company_symbol: Line
    source_url: Annotated[Line, Field(min_length=8, max_length=2000)]

    @field_validator("source_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http or https URL")
        return value


class BootstrapBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    companies: list[Line] = Field(min_length=1, max_length=100)
    doc_types: list[Line] = Field(min_length=1, max_length=10)
    years: list[Annotated[int, Field(ge=2000, le=2100)]] = Field(min_length=1, max_length=30)

    @field_validator("doc_types")
    @classmethod
    def _doc_types(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if v not in DOC_TYPES]
        if bad:
            raise ValueError(f"unknown doc_type(s): {', '.join(bad)}")
        return values


async def _new_document(deps: ApiDeps, meta: DocumentMeta, owner: str | None,
                        source_url: str | None = None, customer_id: str | None = None,
                        opportunity_id: str | None = None) -> NewDocument:
    company_id = None
    symbol = meta.company_symbol
    if symbol:
        company = await find_company(deps.repo, symbol)
        if company is None:
            raise _invalid("company_symbol", f"unknown company {symbol}")
        company_id, symbol = company.id, company.symbol  # "RELIANCE" files as RELIANCE.NS
    for name, tag in (("customer_id", customer_id), ("opportunity_id", opportunity_id)):
        if tag is not None and not _TAG.match(tag):
            raise _invalid(name, "1-100 letters, digits, '.', '_', ':' or '-'")
    return NewDocument(
        doc_type=meta.doc_type, title=meta.title or default_title(meta.doc_type, meta.fiscal_period),
        company_id=company_id, company_symbol=symbol, fiscal_period=meta.fiscal_period,
        document_date=meta.document_date, source_url=source_url, owner=owner,
        customer_id=customer_id, opportunity_id=opportunity_id)


async def _document_or_404(deps: ApiDeps, document_id: int):
    document = await deps.repo.get_document(document_id)
    # Customer material is its owner's only (api/material.py): unknown to the research API.
    if document is None or document.is_material:
        raise ServiceError(404, f"Document {document_id} not found")
    return document


def documents_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/documents")

    @router.get("")
    async def list_documents(
        status: Annotated[str | None, Query(pattern="^(pending|processing|completed|failed)$")] = None,
        doc_type: str | None = None,
        company_symbol: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        symbol = None
        if company_symbol:
            try:
                symbol = normalize_symbol(company_symbol)
            except ValueError:
                raise _invalid("company_symbol", "invalid symbol") from None
            company = await find_company(deps.repo, symbol)
            symbol = company.symbol if company else symbol
        total, rows = await deps.repo.list_documents(symbol=symbol, status=status, doc_type=doc_type,
                                                     limit=limit, offset=offset)
        return {"total": total, "limit": limit, "offset": offset,
                "documents": [d.detail() for d in rows]}

    @router.post("/ingest", status_code=202)
    async def ingest(
        body: IngestBody, request: Request,
        x_user_id: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        try:
            await deps.downloader.check_url(body.source_url)
        except DownloadRefused as exc:
            raise _invalid("source_url", str(exc)) from exc
        new = await _new_document(deps, body, x_user_id, source_url=body.source_url)
        accepted = await deps.documents.request_ingest(
            new, correlation_id=request.headers.get("x-request-id"))
        return accepted.body()

    @router.post("/upload", status_code=202)
    async def upload(request: Request, x_user_id: Annotated[str | None, Header()] = None) -> JSONResponse:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise _invalid("file", "send multipart/form-data with a file and its metadata")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > deps.settings.upload_max_bytes + 64 * 1024:
            raise ServiceError(413, f"File larger than {deps.settings.upload_max_bytes} bytes")
        form = await request.form(max_files=1, max_fields=20)
        fields = {k: v for k, v in form.items() if isinstance(v, str) and v != ""}
        customer_id = fields.pop("customer_id", None)
        opportunity_id = fields.pop("opportunity_id", None)
        fields.pop("file", None)
        try:
            meta = DocumentMeta.model_validate(fields)
        except ValueError as exc:
            errors = getattr(exc, "errors", list)()
            raise ServiceError(400, "Invalid request parameters", "VALIDATION_ERROR",
                               [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                                for e in errors]) from exc
        _, _, data = await read_file_body(request, deps.settings.upload_max_bytes)
        if not data.lstrip()[:1024].startswith(b"%PDF-"):
            raise _invalid("file", "not a PDF (no %PDF- header)")
        new = await _new_document(deps, meta, x_user_id, customer_id=customer_id,
                                  opportunity_id=opportunity_id)
        accepted = await deps.documents.upload(new, data, correlation_id=request.headers.get("x-request-id"))
        return JSONResponse(accepted.body(), status_code=202)

    @router.get("/{document_id}")
    async def get_document(document_id: int) -> dict[str, Any]:
        return (await _document_or_404(deps, document_id)).detail()

    @router.get("/{document_id}/ingestion-status")
    async def ingestion_status(document_id: int) -> dict[str, Any]:
        document = await _document_or_404(deps, document_id)
        return await deps.documents.status(document)

    @router.get("/{document_id}/download")
    async def download(document_id: int) -> StreamingResponse:
        document = await _document_or_404(deps, document_id)
        files = deps.documents.files
        key = files.key_of(document.storage_path) if document.storage_path else None
        if key is None or not await files.exists(key):
            raise ServiceError(404, f"Document {document_id} has no file yet")
        size = await files.size(key)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{document.company_symbol or 'document'}_{document.title}")
        headers = {
            "Content-Disposition": f'attachment; filename="{name.strip("_")[:150]}.pdf"',
            "Content-Length": str(size),
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        }
        if document.sha256:
            headers["ETag"] = f'"{document.sha256}"'
        return StreamingResponse(files.stream(key), media_type="application/pdf", headers=headers)

    return router


def admin_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

    @router.post("/bootstrap", status_code=202)
    async def bootstrap(body: BootstrapBody, x_user_id: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        companies = []
        for raw in body.companies:
            try:
                symbol = normalize_symbol(raw)
            except ValueError:
                raise _invalid("companies", f"invalid symbol {raw!r}") from None
            company = await find_company(deps.repo, symbol)
            if company is None:
                raise _invalid("companies", f"unknown company {symbol}")
            companies.append(company.symbol)
        try:
            task_id, estimated = await deps.bootstrapper.start(companies, body.doc_types, body.years, x_user_id)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            raise DependencyUnavailable("bus: could not queue the bootstrap job") from exc
        return {"task_id": task_id, "status": "started", "estimated_documents": estimated}

    @router.get("/bootstrap/{task_id}")
    async def bootstrap_status(task_id: str) -> dict[str, Any]:
        progress = await deps.bootstrapper.progress(task_id)
        if progress is None:
            raise ServiceError(404, f"Bootstrap task {task_id} not found")
        return progress

    @router.get("/stats/ingestion")
    async def stats() -> dict[str, Any]:
        return await deps.repo.ingestion_stats(since_24h())

    return router


def internal_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/internal")

    @router.post("/search")
    async def search(body: SearchRequest) -> SearchResponse:
        return await deps.search.search(body)

    return router


__all__ = ["DocumentStatus", "admin_router", "documents_router", "internal_router"]
