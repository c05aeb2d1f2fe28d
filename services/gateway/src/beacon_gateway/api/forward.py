"""Public routes another service answers: each declared once, on one line, below.

The gateway admits the caller (`allow(...)`: roles, rate-limit bucket, body limit; see
policy.py), validates what the contract models describe, and forwards the request to the
owning service's internal API, path unchanged. It tells the service who is asking through
X-User-Id / X-User-Role / X-User-Email (trusted on the internal network only) and relays
the answer, which internal APIs give in the research error format.

To add a public route another service serves, add one `forward(...)` line below: method,
path, service, summary, any of `body` (the contract model of a JSON body, validated here),
`query` (a model of its query parameters, validated here), `form` (a multipart body,
documented and streamed through unread), `response_model`, `status_code`, `responses`,
and `allow(...)`. The service implements the same path on its internal app, with the same
contract models (libs/contracts/research_api.py).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from beacon_contracts.research_api import (
    BootstrapAccepted,
    BootstrapRequest,
    BootstrapTaskStatus,
    CatalogueImport,
    CatalogueImportParams,
    CompanyCreate,
    CompanyDetail,
    CompanyDocumentParams,
    CompanyDocuments,
    CompanyFundamentals,
    CompanyList,
    CompanyListParams,
    CompanyNews,
    CompanyPrices,
    CompanyUpdate,
    DataImport,
    DocumentAccepted,
    DocumentList,
    DocumentListParams,
    DocumentOut,
    ErrorResponse,
    FeedbackOut,
    FeedbackRequest,
    FileForm,
    FundamentalsParams,
    HistoryParams,
    IngestionStats,
    IngestionStatus,
    IngestRequest,
    NewsParams,
    PriceParams,
    QueryHistory,
    QueryResult,
    QueryStats,
    QueryStatsParams,
    ReviewDecision,
    ReviewDetail,
    ReviewEdit,
    ReviewAudit,
    ReviewList,
    ReviewListParams,
    ReviewNotes,
    UploadForm,
)
from beacon_contracts.text import Line
from beacon_gateway.api.errors import ApiError
from beacon_gateway.api.policy import ADMINS, EVERYONE, STAFF, BodyTooLarge, PublicRoute, allow
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

# Services with an internal API; report-writer has only probes, which /admin/health asks.
SERVICES = ("ingestion", "rag-query", "hitl", "report-writer")
PATH_PARAMETER_TYPES: dict[str, Any] = {"document_id": int}  # others: Line
DECIDED = {404: {"model": ErrorResponse, "description": "No such review"},
           409: {"model": ErrorResponse, "description": "Decided already, or expired"}}
COMPANY_EXISTS = {409: {"model": ErrorResponse, "description": "A company with this symbol exists"}}
NO_TASK = {404: {"model": ErrorResponse, "description": "No such bootstrap task"}}
NO_COMPANY = {404: {"model": ErrorResponse, "description": "No such company"}}
PDF = {200: {"description": "The original file",
             "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}

_PASS_REQUEST = ("content-type", "content-length", "accept", "range")
_PASS_RESPONSE = ("content-type", "content-disposition", "content-length", "etag",
                  "last-modified", "accept-ranges", "content-range", "cache-control")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def build_forward_router(*, upload_max_bytes: int, import_max_bytes: int) -> APIRouter:
    router = APIRouter(route_class=PublicRoute)
    upload = upload_max_bytes + 64 * 1024  # the multipart envelope around the file
    imports = import_max_bytes + 64 * 1024

    def forward(method: str, path: str, service: str, summary: str, *,
                body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
                form: type[BaseModel] | None = None, csv: bool = False, **route: Any) -> None:
        if form is not None:  # documented only: the gateway streams the file through
            route["openapi_extra"]["requestBody"] = _file_body(form, csv)
        router.add_api_route(
            path, _endpoint(service, path, body, query), methods=[method], summary=summary,
            tags=[_tag(path)], name=f"{method.lower()} {path}", **route,
        )

    # companies (ingestion)
    forward("GET", "/api/v1/companies", "ingestion", "List companies (filter by sector)", query=CompanyListParams, response_model=CompanyList, **allow(EVERYONE, bucket="companies"))
    forward("GET", "/api/v1/companies/{symbol}", "ingestion", "Company details with latest fundamentals and price", response_model=CompanyDetail, **allow(EVERYONE, bucket="companies"))
    forward("GET", "/api/v1/companies/{symbol}/fundamentals", "ingestion", "Quarterly or annual fundamentals", query=FundamentalsParams, response_model=CompanyFundamentals, **allow(EVERYONE, bucket="companies"))
    forward("GET", "/api/v1/companies/{symbol}/prices", "ingestion", "Daily prices between from and to", query=PriceParams, response_model=CompanyPrices, **allow(EVERYONE, bucket="companies"))
    forward("GET", "/api/v1/companies/{symbol}/documents", "ingestion", "A company's filings", query=CompanyDocumentParams, response_model=CompanyDocuments, **allow(EVERYONE, bucket="companies"))
    forward("GET", "/api/v1/companies/{symbol}/news", "ingestion", "News with sentiment", query=NewsParams, response_model=CompanyNews, **allow(EVERYONE, bucket="companies"))
    # documents (ingestion): everyone reads, admins add
    forward("GET", "/api/v1/documents", "ingestion", "List documents", query=DocumentListParams, response_model=DocumentList, **allow(EVERYONE, bucket="documents"))
    forward("GET", "/api/v1/documents/{document_id}", "ingestion", "One document", response_model=DocumentOut, **allow(EVERYONE, bucket="documents"))
    forward("GET", "/api/v1/documents/{document_id}/download", "ingestion", "Download the original file", response_class=Response, responses=PDF, **allow(EVERYONE, bucket="documents"))
    forward("GET", "/api/v1/documents/{document_id}/ingestion-status", "ingestion", "Per-stage ingestion progress", response_model=IngestionStatus, **allow(EVERYONE, bucket="documents"))
    forward("POST", "/api/v1/documents/ingest", "ingestion", "Queue a document for ingestion from a URL", body=IngestRequest, status_code=202, response_model=DocumentAccepted, **allow(ADMINS, bucket="documents"))
    forward("POST", "/api/v1/documents/upload", "ingestion", "Upload a PDF (multipart) for ingestion", form=UploadForm, status_code=202, response_model=DocumentAccepted, **allow(ADMINS, bucket="documents", body=upload))
    # administration (ingestion)
    forward("POST", "/api/v1/admin/bootstrap", "ingestion", "Queue filings for companies x doc types x years", body=BootstrapRequest, status_code=202, response_model=BootstrapAccepted, **allow(ADMINS, bucket="admin"))
    forward("GET", "/api/v1/admin/bootstrap/{task_id}", "ingestion", "A bootstrap task's progress per document, with the filings it could not fetch", response_model=BootstrapTaskStatus, responses=NO_TASK, **allow(ADMINS, bucket="admin"))
    forward("GET", "/api/v1/admin/stats/ingestion", "ingestion", "Ingestion statistics", response_model=IngestionStats, **allow(ADMINS, bucket="admin"))
    forward("POST", "/api/v1/admin/companies/import", "ingestion", "Add or update companies from a CSV (an upsert: companies it does not mention stay)", query=CatalogueImportParams, form=FileForm, csv=True, response_model=CatalogueImport, **allow(ADMINS, bucket="admin", body=imports))
    forward("POST", "/api/v1/admin/companies", "ingestion", "Add a company of any exchange", body=CompanyCreate, status_code=201, response_model=CompanyDetail, responses=COMPANY_EXISTS, **allow(ADMINS, bucket="admin"))
    forward("PATCH", "/api/v1/admin/companies/{symbol}", "ingestion", "Update a company; active: false retires it", body=CompanyUpdate, response_model=CompanyDetail, responses=NO_COMPANY, **allow(ADMINS, bucket="admin"))
    forward("POST", "/api/v1/admin/fundamentals/import", "ingestion", "Import fundamentals (CSV or JSON)", form=FileForm, csv=True, response_model=DataImport, **allow(ADMINS, bucket="admin", body=imports))
    forward("POST", "/api/v1/admin/prices/import", "ingestion", "Import daily prices (CSV or JSON)", form=FileForm, csv=True, response_model=DataImport, **allow(ADMINS, bucket="admin", body=imports))
    forward("POST", "/api/v1/admin/news/import", "ingestion", "Import news (CSV or JSON)", form=FileForm, csv=True, response_model=DataImport, **allow(ADMINS, bucket="admin", body=imports))
    # answers (rag-query)
    forward("GET", "/api/v1/query/history", "rag-query", "Your past questions", query=HistoryParams, response_model=QueryHistory, **allow(EVERYONE))
    forward("GET", "/api/v1/query/{query_id}", "rag-query", "One answer with its trace and metrics", response_model=QueryResult, **allow(EVERYONE))
    forward("POST", "/api/v1/query/{query_id}/feedback", "rag-query", "Rate an answer", body=FeedbackRequest, status_code=201, response_model=FeedbackOut, **allow(EVERYONE))
    forward("GET", "/api/v1/admin/stats/queries", "rag-query", "Query statistics for a period", query=QueryStatsParams, response_model=QueryStats, **allow(ADMINS, bucket="admin"))
    # human review (hitl)
    forward("GET", "/api/v1/hitl/pending", "hitl", "Answers waiting for review", query=ReviewListParams, response_model=ReviewList, **allow(STAFF))
    forward("GET", "/api/v1/hitl/{review_id}", "hitl", "One review", response_model=ReviewDetail, **allow(STAFF))
    forward("GET", "/api/v1/hitl/{review_id}/audit", "hitl", "A review's audit trail", response_model=ReviewAudit, **allow(ADMINS))
    forward("POST", "/api/v1/hitl/{review_id}/approve", "hitl", "Approve an answer", body=ReviewNotes, response_model=ReviewDecision, responses=DECIDED, **allow(STAFF))
    forward("POST", "/api/v1/hitl/{review_id}/reject", "hitl", "Reject an answer", body=ReviewNotes, response_model=ReviewDecision, responses=DECIDED, **allow(STAFF))
    forward("POST", "/api/v1/hitl/{review_id}/edit", "hitl", "Edit and approve an answer", body=ReviewEdit, response_model=ReviewDecision, responses=DECIDED, **allow(STAFF))
    return router


def upstream_clients(
    urls: dict[str, str | None], apps: dict[str, object], timeout_s: float
) -> dict[str, httpx.AsyncClient]:
    """A client per service: over HTTP to its URL, or in-process to its ASGI app."""
    clients = {}
    for name in SERVICES:
        if urls.get(name):
            clients[name] = httpx.AsyncClient(base_url=urls[name], timeout=timeout_s)
        elif apps.get(name) is not None:
            transport = httpx.ASGITransport(app=apps[name])
            clients[name] = httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=timeout_s)
    return clients


async def _body_until_limit(request: Request, cut: list[BodyTooLarge]):
    """The request body as it arrives. Past the route's limit it stops (the service sees a
    short body) and `cut` holds the error to answer instead of the service's answer."""
    try:
        async for chunk in request.stream():
            yield chunk
    except BodyTooLarge as exc:
        cut.append(exc)


def _file_body(form: type[BaseModel], csv: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"multipart/form-data": {"schema": form.model_json_schema()}}
    if csv:  # or the file itself as the body
        content["text/csv"] = {"schema": {"type": "string"}}
        content["application/json"] = {"schema": {"type": "array", "items": {"type": "object"}}}
    return {"required": True, "content": content}


def _tag(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/")[0]


def _endpoint(service: str, path: str, body: type | None, query: type | None) -> Callable[..., Any]:
    """An endpoint whose signature declares the route's path parameters and, when given,
    its query and body models, so FastAPI validates and documents them; the request itself
    is forwarded as the client sent it."""

    async def forward(request: Request, **_validated: Any) -> Response:
        return await forward_request(request, service)

    parameters = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    for name in re.findall(r"\{(\w+)\}", path):
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=PATH_PARAMETER_TYPES.get(name, Line)))
    if query is not None:
        parameters.append(inspect.Parameter(
            "query", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[query, Query()]))
    if body is not None:
        parameters.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=body))
    forward.__signature__ = inspect.Signature(parameters, return_annotation=Response)
    return forward


async def forward_request(
    request: Request, service: str, *, path: str | None = None, method: str | None = None
) -> Response:
    """Send the request (or, with `path` and `method`, a bodiless one of our own) to the
    service's internal API and stream its answer back."""
    clients: dict[str, httpx.AsyncClient] = request.app.state.upstreams
    client = clients.get(service)
    if client is None:
        raise ApiError(503, "SERVICE_UNAVAILABLE", f"The {service} service is not configured")
    method = method or request.method
    headers = {k: v for k, v in request.headers.items() if k in _PASS_REQUEST}
    headers["x-request-id"] = request.scope["state"]["request_id"]
    user = getattr(request.state, "user", None)
    if user is not None:
        headers["x-user-id"] = str(user.id)
        headers["x-user-role"] = user.role.value
        headers["x-user-email"] = user.email
    cut: list[BodyTooLarge] = []
    if path is None:
        # The raw path keeps the client's percent-encoding: a decoded path may hold control
        # characters that no URL may carry (found by schemathesis).
        path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        params = request.query_params
        content = _body_until_limit(request, cut) if method in _WITH_BODY else None
    else:
        params, content = None, None
        headers = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
    upstream = client.build_request(method, path, params=params, headers=headers, content=content)
    try:
        response = await client.send(upstream, stream=True)
        if cut:  # the body outgrew the route's limit while streaming: not the service's answer
            await response.aclose()
            raise cut[0]
    except httpx.InvalidURL as exc:
        raise ApiError(400, "VALIDATION_ERROR", "The request path is not a valid URL") from exc
    except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:
        log.error("upstream.unavailable", service=service, error=repr(exc))
        raise ApiError(503, "SERVICE_UNAVAILABLE", f"The {service} service is unavailable") from exc
    passed = {k: v for k, v in response.headers.items() if k.lower() in _PASS_RESPONSE}
    return StreamingResponse(
        response.aiter_raw(), status_code=response.status_code, headers=passed,
        background=BackgroundTask(response.aclose),
    )
