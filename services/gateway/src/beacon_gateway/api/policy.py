"""Who may call a public route, what it counts against and how large its body may be.

Every public route says so on its own line, with `allow(...)` in its FastAPI decorator:

    @router.post("/api/v1/query", **allow(EVERYONE, bucket="query"))
    forward("POST", "/api/v1/documents/upload", "ingestion", ..., **allow(ADMINS, bucket="documents", body=UPLOAD))

`allow()` writes the policy into the operation's OpenAPI (`security`, `x-roles`,
`x-rate-limit`, `x-max-body-bytes`), and `PublicRoute`, the route class of every public
router, enforces what the document says:

0. the body limit: 413 in the contract's format (FastAPI's own `max_body_size` answers a
   declared oversize with Starlette's plain-text 413, whatever the app would send);
1. the caller: `X-API-Key` (report API, then `Session-Id` where required) or a bearer token
   and a role (research API), before FastAPI reads the body, so a stranger learns nothing
   about it (401 before 400/422);
2. FastAPI reads and validates the request (413, 400, 422);
3. the rate-limit bucket, counted only for a request that passed validation, so a refused
   request never spends a user's quota; then the endpoint runs.

A route without `allow(...)` is refused (fail closed); tests/unit/gateway/test_policy.py
checks every route of the app against its documented policy with every role.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import Field, TypeAdapter
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from beacon_contracts.text import Line, check_line
from beacon_gateway.api.errors import ApiError
from beacon_gateway.auth import AuthService, InvalidToken
from beacon_gateway.limits_config import limit_item
from beacon_gateway.ratelimit import RateLimiter
from beacon_gateway.repository import Role
from beacon_gateway.settings import GatewaySettings

MAX_SESSION_ID_LENGTH = 200

EVERYONE = frozenset(Role)
STAFF = frozenset({Role.REVIEWER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})
PUBLIC = "public"  # no credentials (login, health)
API_KEY = "api-key"  # report API: X-API-Key
API_KEY_AND_SESSION = "api-key+session"  # report API submissions: X-API-Key and Session-Id

BEARER_SCHEME = "bearerAuth"
API_KEY_SCHEME = "ApiKey"
SECURITY_SCHEMES = {
    BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from POST /api/v1/auth/login"},
    API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "A report-API key (API_KEYS or POST /api/v1/admin/api-keys)"},
}


SESSION_ID_PARAMETER = {
    "name": "Session-Id", "in": "header", "required": True,
    "description": "The frontend's session; the drafts of one report share it.",
    "schema": TypeAdapter(Annotated[Line, Field(min_length=1, max_length=MAX_SESSION_ID_LENGTH)]).json_schema(),
}


@dataclass(frozen=True)
class ResearchDeps:
    auth: AuthService
    limiter: RateLimiter
    settings: GatewaySettings


@dataclass(frozen=True)
class RoutePolicy:
    callers: str  # PUBLIC, API_KEY, API_KEY_AND_SESSION, or "bearer"
    roles: frozenset[Role] = frozenset()
    bucket: str | None = None
    max_body_bytes: int | None = None  # None: the app's MAX_BODY_BYTES

    @classmethod
    def of(cls, route: APIRoute) -> RoutePolicy | None:
        extra = route.openapi_extra or {}
        if "x-callers" not in extra:
            return None
        return cls(extra["x-callers"], frozenset(Role(r) for r in extra.get("x-roles", ())),
                   extra.get("x-rate-limit"), extra.get("x-max-body-bytes"))


def allow(
    callers: str | Iterable[Role], *, bucket: str | None = None, body: int | None = None
) -> dict[str, Any]:
    """FastAPI route arguments declaring a route's policy. `callers`: PUBLIC, API_KEY,
    API_KEY_AND_SESSION or the roles whose bearer token may call it; `bucket`: the rate-limit
    bucket (limits_config.py); `body`: its body limit in bytes (else the app's MAX_BODY_BYTES)."""
    if isinstance(callers, str):
        security = {PUBLIC: [], API_KEY: [{API_KEY_SCHEME: []}],
                    API_KEY_AND_SESSION: [{API_KEY_SCHEME: []}]}[callers]
        extra: dict[str, Any] = {"x-callers": callers, "security": security}
        if callers == API_KEY_AND_SESSION:
            extra["parameters"] = [SESSION_ID_PARAMETER]
    else:
        roles = sorted(role.value for role in callers)
        extra = {"x-callers": "bearer", "x-roles": roles, "security": [{BEARER_SCHEME: []}]}
    if bucket is not None:
        extra["x-rate-limit"] = bucket
    if body is not None:
        extra["x-max-body-bytes"] = body
    return {"openapi_extra": extra}


class PublicRoute(APIRoute):
    """A FastAPI route that admits callers by its documented policy (see the module doc)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        extra = kwargs.get("openapi_extra") or {}
        if extra.get("x-rate-limit"):
            endpoint = _counted(endpoint, extra["x-rate-limit"])
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self):
        handler = super().get_route_handler()
        policy = RoutePolicy.of(self)

        async def admitted(request: Request):
            if policy is None:
                raise ApiError(403, "FORBIDDEN", "No access policy for this endpoint")
            request = _limit_body(request, policy.max_body_bytes or request.app.state.max_body_bytes)
            if policy.callers == "bearer":
                await _admit_bearer(request, policy.roles)
            elif policy.callers != PUBLIC:
                request.state.owner = await _admit_api_key(request)
                if policy.callers == API_KEY_AND_SESSION:
                    request.state.session_id = _session_id(request)
            return await handler(request)

        return admitted


class BodyTooLarge(HTTPException):
    """An HTTPException, because FastAPI turns any other error while reading a body into 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body exceeds {limit} bytes")


def _limit_body(request: Request, limit: int) -> Request:
    """413 at once for a declared Content-Length above `limit` (the server then reads exactly
    that many bytes, so nothing needs counting); a body without one is counted as it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        return request
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return request
    receive, received = request.receive, 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge(limit)
        return message

    return Request(request.scope, counted)


async def _admit_api_key(request: Request) -> str:
    """401 unless X-API-Key is one of ours; the id of its record (api_keys.py)."""
    owner = await request.app.state.report.keys.owner_of(request.headers.get("x-api-key"))
    if owner is None:
        raise ApiError(401, "UNAUTHORIZED", "Missing or invalid X-API-Key")
    return owner


def _session_id(request: Request) -> str:
    """The Session-Id header, checked here rather than as a FastAPI header parameter: it must
    be refused (400) before the body is read, and a declared parameter costs ~10 % of a
    POST /generate (bench/report_api_instructions.py)."""
    session_id = request.headers.get("session-id", "").strip()
    if not session_id:
        raise ApiError(400, "BAD_REQUEST", "Session-Id is required")
    if len(session_id) > MAX_SESSION_ID_LENGTH:
        raise ApiError(400, "BAD_REQUEST", "Session-Id is too long")
    try:
        return check_line(session_id)
    except ValueError as exc:
        raise ApiError(422, "VALIDATION_ERROR", "Request validation failed", [{
            "type": "value_error", "loc": ["header", "Session-Id"], "msg": f"Value error, {exc}",
        }]) from None


async def _admit_bearer(request: Request, roles: frozenset[Role]) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "UNAUTHORIZED", "Missing bearer token",
                       headers={"WWW-Authenticate": "Bearer"})
    auth = request.app.state.research.auth
    try:
        principal = auth.authenticate(token.strip())
        user = await auth.current_user(principal)
    except InvalidToken as exc:
        raise ApiError(401, "UNAUTHORIZED", str(exc).capitalize(),
                       headers={"WWW-Authenticate": "Bearer"}) from exc
    if user.role not in roles:
        raise ApiError(403, "FORBIDDEN", "Your role may not call this endpoint")
    request.state.user = user
    request.state.principal = principal


async def charge(request: Request, bucket: str) -> None:
    """Count one request of the caller against `bucket`; 429 once the window is spent. The
    decision's X-RateLimit-* headers go on the answer whatever it is."""
    deps = request.app.state.research
    user = request.state.user
    decision = await deps.limiter.hit(bucket, str(user.id), limit_item(bucket, user, deps.settings))
    headers = decision.headers()
    request.scope.setdefault("state", {})["extra_headers"] = headers
    if not decision.allowed:
        retry_after = max(1, decision.reset_at - int(time.time()))
        raise ApiError(429, "RATE_LIMITED", "Rate limit exceeded",
                       headers={**headers, "Retry-After": str(retry_after)})


def _counted(endpoint: Callable[..., Any], bucket: str) -> Callable[..., Any]:
    """The endpoint, charging `bucket` first. FastAPI calls it only once the request is
    valid. It needs the endpoint's `request: Request` parameter to find the caller."""
    signature = inspect.signature(endpoint)
    names = [name for name, p in signature.parameters.items()
             if p.annotation in (Request, "Request")]
    if not names:
        raise TypeError(f"{endpoint.__name__} needs a `request: Request` parameter to be rate-limited")

    @functools.wraps(endpoint)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        await charge(kwargs[names[0]], bucket)
        return await endpoint(*args, **kwargs)

    return counted
