"""Customer material and the section catalogue in the report API's conventions (issue 13):
`POST /documents`, `GET /documents`, `GET /documents/{document_id}`,
`DELETE /documents/{document_id}`, `GET /sections`. Envelope `{status, message, data}`,
`X-API-Key` required, `Session-Id` not needed, errors as contract 000.

The material belongs to the caller's key record (`request.state.owner`); the ingestion
service stores, ingests and deletes it through its internal material routes, to which the
owner travels in `X-Material-Owner`.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import orjson
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response

from beacon_contracts.material import OWNER_HEADER, Tag
from beacon_contracts.report_api import (
    DocumentAcceptedEnvelope,
    DocumentDeletedEnvelope,
    DocumentEnvelope,
    DocumentListEnvelope,
    ErrorEnvelope,
    SectionsEnvelope,
)
from beacon_contracts.sections import SECTIONS, ReportType
from beacon_contracts.text import LINE_PATTERN, Line, Text
from beacon_gateway.api.errors import ApiError
from beacon_gateway.api.policy import API_KEY, PublicRoute, allow
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

# Documented like every identifier; one that is not a number is a document that does not
# exist (404), never looked up.
DocumentId = Annotated[str, Path(json_schema_extra={"pattern": LINE_PATTERN})]
_ENVELOPE_STATUS = {"pending": "processing", "processing": "processing", "completed": "ready",
                    "failed": "error"}
_MESSAGES = {"pending": "Document queued for ingestion", "processing": "Document processing",
             "completed": "Document ready", "failed": "Document failed"}
_INVALID = {422: {"model": ErrorEnvelope, "description": "Validation failed; data.details lists why"}}
_CONFLICT = {409: {"model": ErrorEnvelope, "description": "The document is being ingested; retry"}}


def build_report_documents_router(*, upload_max_bytes: int) -> APIRouter:
    router = APIRouter(route_class=PublicRoute, tags=["report writer: customer material"])
    upload_limit = upload_max_bytes + 64 * 1024  # the multipart envelope around the file

    @router.post("/documents", status_code=202, response_model=DocumentAcceptedEnvelope,
                 **allow(API_KEY, body=upload_limit))
    async def upload(
        request: Request,
        file: Annotated[UploadFile, File(description="PDF, DOCX, Markdown or plain text")],
        customer_id: Annotated[Tag | None, Form(description="None: your own offer material")] = None,
        opportunity_id: Annotated[Tag | None, Form()] = None,
        title: Annotated[Text | None, Form(max_length=300)] = None,
        company_symbol: Annotated[Line | None, Form(max_length=30,
                                                    description="The customer's listed symbol")] = None,
    ) -> Response:
        """Upload customer material (an RFP, requirements, meeting notes) or, without
        `customer_id`, your own offer material; poll GET /documents/{document_id}."""
        if opportunity_id and not customer_id:
            raise _invalid("opportunity_id", "an opportunity needs its customer_id")
        data = await file.read()
        fields = {k: v for k, v in (("customer_id", customer_id), ("opportunity_id", opportunity_id),
                                    ("title", title), ("company_symbol", company_symbol)) if v}
        answer = await _ingestion(request, "POST", "/internal/material/documents", data=fields,
                                  files={"file": (file.filename or "document", data,
                                                  file.content_type or "application/octet-stream")})
        created = answer["created"]
        message = "Document queued for ingestion" if created else "Identical document already uploaded"
        return _json(202, {"status": "processing", "message": message,
                           "data": {"document_id": answer["document_id"], "status": answer["status"]}})

    @router.get("/documents", response_model=DocumentListEnvelope, responses=_INVALID, **allow(API_KEY))
    async def list_documents(request: Request, customer_id: Annotated[Tag | None, Query()] = None,
                             opportunity_id: Annotated[Tag | None, Query()] = None) -> Response:
        """Your customer material, newest first, optionally for one customer or opportunity."""
        params = {k: v for k, v in (("customer_id", customer_id), ("opportunity_id", opportunity_id)) if v}
        answer = await _ingestion(request, "GET", "/internal/material/documents", params=params)
        documents = answer["documents"]
        return _json(200, {"status": "ok", "message": f"{len(documents)} document(s)",
                           "data": {"documents": documents}})

    @router.get("/documents/{document_id}", response_model=DocumentEnvelope, responses={
        404: {"model": ErrorEnvelope, "description": "Unknown, deleted or another key's document"}},
        **allow(API_KEY))
    async def get_document(document_id: DocumentId, request: Request) -> Response:
        """A document's ingestion: processing, ready (page and chunk counts) or error."""
        document = await _ingestion(request, "GET", f"/internal/material/documents/{_id(document_id)}")
        state = document["status"]
        return _json(200, {"status": _ENVELOPE_STATUS[state], "message": _MESSAGES[state], "data": document})

    @router.delete("/documents/{document_id}", response_model=DocumentDeletedEnvelope, responses={
        404: {"model": ErrorEnvelope, "description": "Unknown, deleted or another key's document"},
        **_CONFLICT}, **allow(API_KEY))
    async def delete_document(document_id: DocumentId, request: Request) -> Response:
        """Delete the file, its chunks and its vectors (for material under NDA)."""
        answer = await _ingestion(request, "DELETE", f"/internal/material/documents/{_id(document_id)}")
        return _json(200, {"status": "ok", "message": "Document deleted", "data": answer})

    @router.get("/sections", response_model=SectionsEnvelope, responses=_INVALID, **allow(API_KEY))
    async def sections(type: Annotated[ReportType | None, Query()] = None) -> Response:  # noqa: A002
        """The allowed `section_title` values per report `type` (all types without one)."""
        types = [type] if type else list(ReportType)
        return _json(200, {"status": "ok", "message": "Allowed section titles",
                           "data": {"sections": {t.value: list(SECTIONS[t]) for t in types}}})

    return router


def _id(document_id: str) -> int:
    """An id that is not one of ours is a document that does not exist (404), never looked up."""
    if not (document_id.isascii() and document_id.isdigit() and len(document_id) <= 18):
        raise ApiError(404, "DOCUMENT_NOT_FOUND", f"Document {document_id} not found")
    return int(document_id)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "VALIDATION_ERROR", "Request validation failed", [
        {"type": "value_error", "loc": ["body", field], "msg": message}])


async def _ingestion(request: Request, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """Ask ingestion's internal material API as the caller's owner; its errors in ours."""
    client: httpx.AsyncClient | None = request.app.state.upstreams.get("ingestion")
    if client is None:
        raise ApiError(503, "SERVICE_UNAVAILABLE", "The ingestion service is not configured")
    headers = {OWNER_HEADER: request.state.owner, "x-request-id": request.scope["state"]["request_id"]}
    try:
        response = await client.request(method, path, headers=headers, **kwargs)
    except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
        log.error("upstream.unavailable", service="ingestion", error=repr(exc))
        raise ApiError(503, "SERVICE_UNAVAILABLE", "The ingestion service is unavailable") from exc
    if response.status_code < 300:
        return response.json()
    error = _error_of(response)
    status = response.status_code
    if status == 400:
        details = [{"type": "value_error", "loc": ["body", d.get("field", "file")], "msg": d.get("message", "")}
                   for d in error.get("details") or []]
        raise ApiError(422, "VALIDATION_ERROR", error.get("message") or "Request validation failed",
                       details or None)
    if status == 404:
        raise ApiError(404, "DOCUMENT_NOT_FOUND", error.get("message") or "Document not found")
    if status == 409:
        raise ApiError(409, "CONFLICT", error.get("message") or "Conflict")
    if status == 413:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", error.get("message") or "File too large")
    log.error("upstream.error", service="ingestion", status=status)
    raise ApiError(503, "SERVICE_UNAVAILABLE", "The ingestion service could not answer")


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        return response.json().get("error") or {}
    except ValueError:
        return {}


def _json(status_code: int, payload: dict[str, Any]) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")
