"""Internal routes for customer material (`/internal/material/...`): the gateway's report
document routes and report-writer's search call them. The owner comes in `X-Material-Owner`
(set by the gateway from the caller's API key, internal network only); without it, 400."""

from __future__ import annotations

from typing import Annotated, Any

from beacon_contracts.material import OWNER_HEADER, MaterialSearchRequest, MaterialSearchResponse
from beacon_runtime.http_errors import ServiceError
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from beacon_contracts.material import Tag
from beacon_ingestion.api.common import ApiDeps, read_file_body
from beacon_ingestion.domain import normalize_symbol
from beacon_ingestion.material import DocumentBusy, MaterialService, Upload
from beacon_ingestion.pipeline.formats import UnsupportedFormat, detect_content_type

_TAG = TypeAdapter(Tag)
Owner = Annotated[str | None, Header(alias=OWNER_HEADER)]


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(400, "Invalid request parameters", "VALIDATION_ERROR",
                        [{"field": field, "message": message}])


def _owner(value: str | None) -> str:
    if not value or len(value) > 200:
        raise _invalid(OWNER_HEADER, "required")
    return value


def _tag(field: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return _TAG.validate_python(value)
    except ValidationError:
        raise _invalid(field, "1-100 letters, digits, '.', '_', ':' or '-'") from None


def material_router(deps: ApiDeps, material: MaterialService) -> APIRouter:
    router = APIRouter(prefix="/internal/material")

    @router.post("/documents", status_code=202)
    async def upload(request: Request, owner: Owner = None) -> JSONResponse:
        owner = _owner(owner)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise _invalid("file", "send multipart/form-data with a file and its tags")
        form = await request.form(max_files=1, max_fields=20)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        customer_id = _tag("customer_id", fields.get("customer_id"))
        opportunity_id = _tag("opportunity_id", fields.get("opportunity_id"))
        if opportunity_id and not customer_id:
            raise _invalid("opportunity_id", "an opportunity needs its customer_id")
        title = (fields.get("title") or "").strip()
        if len(title) > 300 or any(ord(c) < 32 for c in title):
            raise _invalid("title", "at most 300 characters, no control characters")
        company_id = symbol = None
        if fields.get("company_symbol"):
            try:
                symbol = normalize_symbol(fields["company_symbol"])
            except ValueError:
                raise _invalid("company_symbol", "invalid symbol") from None
            company = await deps.repo.get_company(symbol)
            if company is None:
                raise _invalid("company_symbol", f"unknown company {symbol}")
            company_id = company.id
        filename, _, data = await read_file_body(request, deps.settings.upload_max_bytes)
        try:
            content_type = detect_content_type(data, filename)
        except UnsupportedFormat as exc:
            raise _invalid("file", str(exc)) from None
        document, created = await material.upload(Upload(
            owner=owner, data=data, content_type=content_type,
            title=title or (filename or "Customer document")[:300], customer_id=customer_id,
            opportunity_id=opportunity_id, company_id=company_id, company_symbol=symbol,
        ), correlation_id=request.headers.get("x-request-id"))
        return JSONResponse({"document_id": document.id, "status": document.status.value,
                             "created": created}, status_code=202)

    @router.get("/documents")
    async def list_documents(owner: Owner = None, customer_id: Annotated[str | None, Query()] = None,
                             opportunity_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
        documents = await material.list(_owner(owner), customer_id=_tag("customer_id", customer_id),
                                        opportunity_id=_tag("opportunity_id", opportunity_id))
        return {"documents": [d.material_detail() for d in documents]}

    @router.get("/documents/{document_id}")
    async def get_document(document_id: int, owner: Owner = None) -> dict[str, Any]:
        document = await material.get(_owner(owner), document_id)
        if document is None:
            raise ServiceError(404, f"Document {document_id} not found")
        return document.material_detail()

    @router.delete("/documents/{document_id}")
    async def delete_document(document_id: int, owner: Owner = None) -> dict[str, Any]:
        try:
            deleted = await material.delete(_owner(owner), document_id)
        except DocumentBusy:
            raise ServiceError(409, "The document is being ingested; delete it again in a moment",
                               "CONFLICT") from None
        if not deleted:
            raise ServiceError(404, f"Document {document_id} not found")
        return {"document_id": document_id, "deleted": True}

    @router.post("/search")
    async def search(body: MaterialSearchRequest, owner: Owner = None) -> MaterialSearchResponse:
        return await material.search(_owner(owner), body)

    return router
