"""Public reads forwarded to the owning service's internal API, path unchanged.

The gateway has already authenticated, authorised and rate-limited the request; it tells
the service who is asking through X-User-Id / X-User-Role (trusted on the internal network
only) and relays the answer, which internal APIs give in the research error format.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from beacon_gateway.api.errors import ApiError
from beacon_gateway.api.guard import guard
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

P = "/api/v1"

# (method, path, upstream service, summary, tag)
FORWARDED: tuple[tuple[str, str, str, str, str], ...] = (
    ("GET", f"{P}/companies", "ingestion", "List Nifty 50 companies (filter by sector)", "companies"),
    ("GET", f"{P}/companies/{{symbol}}", "ingestion", "Company details with latest fundamentals and price", "companies"),
    ("GET", f"{P}/companies/{{symbol}}/fundamentals", "ingestion", "Quarterly or annual fundamentals", "companies"),
    ("GET", f"{P}/companies/{{symbol}}/prices", "ingestion", "Daily prices between from and to", "companies"),
    ("GET", f"{P}/companies/{{symbol}}/documents", "ingestion", "A company's filings", "companies"),
    ("GET", f"{P}/companies/{{symbol}}/news", "ingestion", "News with sentiment", "companies"),
    ("GET", f"{P}/documents", "ingestion", "List documents", "documents"),
    ("GET", f"{P}/documents/{{document_id}}", "ingestion", "One document", "documents"),
    ("GET", f"{P}/documents/{{document_id}}/download", "ingestion", "Download the original file", "documents"),
    ("GET", f"{P}/documents/{{document_id}}/ingestion-status", "ingestion", "Per-stage ingestion progress", "documents"),
    ("POST", f"{P}/documents/ingest", "ingestion", "Queue a document for ingestion from a URL", "documents"),
    ("POST", f"{P}/documents/upload", "ingestion", "Upload a document (multipart) for ingestion", "documents"),
    ("POST", f"{P}/admin/bootstrap", "ingestion", "Queue filings for companies x doc types x years", "admin"),
    ("GET", f"{P}/admin/stats/ingestion", "ingestion", "Ingestion statistics", "admin"),
    ("POST", f"{P}/admin/companies/import", "ingestion", "Refresh the constituent list from a CSV", "admin"),
    ("POST", f"{P}/admin/fundamentals/import", "ingestion", "Import fundamentals (CSV or JSON)", "admin"),
    ("POST", f"{P}/admin/prices/import", "ingestion", "Import daily prices (CSV or JSON)", "admin"),
    ("POST", f"{P}/admin/news/import", "ingestion", "Import news (CSV or JSON)", "admin"),
    ("GET", f"{P}/query/history", "rag-query", "Your past questions", "query"),
    ("GET", f"{P}/query/{{query_id}}", "rag-query", "One answer with its trace and metrics", "query"),
    ("POST", f"{P}/query/{{query_id}}/feedback", "rag-query", "Rate an answer", "query"),
    ("GET", f"{P}/admin/stats/queries", "rag-query", "Query statistics for a period", "admin"),
    ("GET", f"{P}/hitl/pending", "hitl", "Answers waiting for review", "hitl"),
    ("GET", f"{P}/hitl/{{review_id}}", "hitl", "One review", "hitl"),
    ("GET", f"{P}/hitl/{{review_id}}/audit", "hitl", "A review's audit trail (admins)", "hitl"),
    ("POST", f"{P}/hitl/{{review_id}}/approve", "hitl", "Approve an answer", "hitl"),
    ("POST", f"{P}/hitl/{{review_id}}/reject", "hitl", "Reject an answer", "hitl"),
    ("POST", f"{P}/hitl/{{review_id}}/edit", "hitl", "Edit and approve an answer", "hitl"),
)

_PASS_REQUEST = ("content-type", "accept", "x-request-id", "range")
_PASS_RESPONSE = ("content-type", "content-disposition", "content-length", "etag",
                  "last-modified", "accept-ranges", "content-range", "cache-control")


def upstream_clients(
    urls: dict[str, str | None], apps: dict[str, object], timeout_s: float
) -> dict[str, httpx.AsyncClient]:
    """A client per service: over HTTP to its URL, or in-process to its ASGI app. Services
    the gateway forwards nothing to (report-writer) get one too: /admin/health asks them."""
    clients = {}
    for name in {n for _, _, n, _, _ in FORWARDED} | set(urls) | set(apps):
        if urls.get(name):
            clients[name] = httpx.AsyncClient(base_url=urls[name], timeout=timeout_s)
        elif apps.get(name) is not None:
            transport = httpx.ASGITransport(app=apps[name])
            clients[name] = httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=timeout_s)
    return clients


def build_forward_router(routes: Iterable[tuple[str, str, str, str, str]] = FORWARDED) -> APIRouter:
    router = APIRouter(dependencies=[Depends(guard)])
    for method, path, service, summary, tag in routes:
        router.add_api_route(
            path, _endpoint(service), methods=[method], summary=summary, tags=[tag],
            name=f"{method.lower()}_{path}",
        )
    return router


def _endpoint(service: str):
    async def forward(request: Request) -> Response:
        return await forward_request(request, service)

    return forward


async def forward_request(
    request: Request, service: str, *, path: str | None = None, method: str | None = None
) -> Response:
    clients: dict[str, httpx.AsyncClient] = request.app.state.upstreams
    client = clients.get(service)
    if client is None:
        raise ApiError(503, "SERVICE_UNAVAILABLE", f"The {service} service is not configured")
    headers = {k: v for k, v in request.headers.items() if k.lower() in _PASS_REQUEST}
    headers["x-request-id"] = request.scope["state"]["request_id"]
    user = getattr(request.state, "user", None)
    if user is not None:
        headers["x-user-id"] = str(user.id)
        headers["x-user-role"] = user.role.value
        headers["x-user-email"] = user.email
    # The raw path keeps the client's percent-encoding: a decoded path may hold control
    # characters that no URL may carry (found by schemathesis).
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    upstream = client.build_request(
        method or request.method, path or raw_path,
        params=request.query_params if path is None else None,
        headers=headers, content=await request.body() if method is None else None,
    )
    try:
        response = await client.send(upstream, stream=True)
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
