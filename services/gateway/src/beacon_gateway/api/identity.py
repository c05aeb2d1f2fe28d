"""/api/v1/auth/* and the identity parts of /api/v1/admin/*."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict

from fastapi import APIRouter, Query, Request

from beacon_contracts.research_api import (
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    CreateApiKeyRequest,
    CreateUserRequest,
    ErrorResponse,
    LoginRequest,
    LogoutRequest,
    MeResponse,
    RefreshRequest,
    TokenResponse,
    UpdateUserRequest,
    UserList,
    UserOut,
)
from beacon_gateway.api.errors import ApiError
from beacon_gateway.api.policy import ADMINS, EVERYONE, PUBLIC, PublicRoute, ResearchDeps, allow
from beacon_gateway.auth import InvalidCredentials, InvalidToken
from beacon_gateway.limits_config import limit_item
from beacon_gateway.ratelimit import RateLimiter
from beacon_gateway.repository import EmailTaken, Role, User, UserChanges, normalise_email

API_KEY_PREFIX = "bk_"


def _deps(request: Request) -> ResearchDeps:
    return request.app.state.research


def user_out(user: User) -> UserOut:
    data = asdict(user)
    data.pop("password_hash")
    return UserOut(**{**data, "role": user.role.value})


def build_identity_router() -> APIRouter:
    router = APIRouter(route_class=PublicRoute)

    @router.post("/api/v1/auth/login", response_model=TokenResponse, tags=["auth"], responses={
        401: {"model": ErrorResponse, "description": "Wrong email or password"},
        429: {"model": ErrorResponse, "description": "Too many failed logins from here"}},
        **allow(PUBLIC))
    async def login(body: LoginRequest, request: Request) -> TokenResponse:
        """Exchange email and password for an access and a refresh token."""
        deps = _deps(request)
        settings = deps.settings
        window = RateLimiter.item(
            settings.login_failures_allowed, "minute", settings.login_failure_window_minutes
        )
        email = normalise_email(body.email)
        # Failures are counted per account and client address: guessing one account's
        # password is stopped, but a stranger cannot lock a user out from elsewhere.
        source = f"{email}|{request.client.host if request.client else '-'}"
        state = await deps.limiter.peek("login_failures", source, window)
        if not state.allowed:
            raise ApiError(429, "RATE_LIMITED", "Too many failed logins, try again later",
                           headers={**state.headers(), "Retry-After": str(settings.login_failure_window_minutes * 60)})
        try:
            pair = await deps.auth.login(email, body.password)
        except InvalidCredentials as exc:
            await deps.limiter.hit("login_failures", source, window)
            raise ApiError(401, "UNAUTHORIZED", "Invalid email or password") from exc
        await deps.limiter.clear("login_failures", source, window)
        return TokenResponse(**asdict(pair))

    @router.post("/api/v1/auth/refresh", response_model=TokenResponse, tags=["auth"], responses={
        401: {"model": ErrorResponse, "description": "Unknown, expired or reused refresh token"}},
        **allow(PUBLIC))
    async def refresh(body: RefreshRequest, request: Request) -> TokenResponse:
        """Rotate a refresh token. Reusing an old one revokes its whole session."""
        try:
            pair = await _deps(request).auth.refresh(body.refresh_token)
        except InvalidToken as exc:
            raise ApiError(401, "UNAUTHORIZED", str(exc).capitalize()) from exc
        return TokenResponse(**asdict(pair))

    @router.post("/api/v1/auth/logout", status_code=204, tags=["auth"], **allow(EVERYONE))
    async def logout(request: Request, body: LogoutRequest | None = None) -> None:
        """Revoke the session (token family) of this access token."""
        deps = _deps(request)
        await deps.auth.logout(request.state.principal)
        if body is not None and body.refresh_token:
            try:
                await deps.auth.logout_with_refresh(body.refresh_token)
            except InvalidToken:
                pass  # the caller's own session is already revoked

    @router.get("/api/v1/auth/me", response_model=MeResponse, tags=["auth"], **allow(EVERYONE))
    async def me(request: Request) -> MeResponse:
        deps = _deps(request)
        user: User = request.state.user
        used = 0
        for bucket in ("query", "query_stream"):
            item = limit_item(bucket, user, deps.settings)
            state = await deps.limiter.peek(bucket, str(user.id), item)
            used += item.amount - state.remaining
        return MeResponse(
            id=user.id, email=user.email, full_name=user.full_name, role=user.role.value,
            daily_query_limit=user.daily_query_limit, queries_today=used,
        )

    @router.post("/api/v1/admin/users", status_code=201, response_model=UserOut, tags=["admin"],
                 responses={409: {"model": ErrorResponse, "description": "Email taken"}},
                 **allow(ADMINS, bucket="admin"))
    async def create_user(body: CreateUserRequest, request: Request) -> UserOut:
        deps = _deps(request)
        try:
            user = await deps.auth.create_user(
                body.email, body.password, body.full_name, Role(body.role),
                body.daily_query_limit or deps.settings.default_daily_query_limit,
            )
        except EmailTaken as exc:
            raise ApiError(409, "CONFLICT", "A user with this email already exists") from exc
        return user_out(user)

    @router.get("/api/v1/admin/users", response_model=UserList, tags=["admin"], **allow(ADMINS, bucket="admin"))
    async def list_users(
        request: Request, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)
    ) -> UserList:
        total, users = await _deps(request).auth.repo.list_users(limit, offset)
        return UserList(total=total, limit=limit, offset=offset, users=[user_out(u) for u in users])

    async def _set_disabled(request: Request, user_id: int, disabled: bool) -> UserOut:
        auth = _deps(request).auth
        user = await auth.repo.set_disabled(user_id, disabled)
        if user is None:
            raise ApiError(404, "NOT_FOUND", f"User {user_id} not found")
        if disabled:
            await auth.end_user_sessions(user_id)
        return user_out(user)

    @router.patch("/api/v1/admin/users/{user_id}", response_model=UserOut, tags=["admin"],
                  **allow(ADMINS, bucket="admin"))
    async def update_user(user_id: int, body: UpdateUserRequest, request: Request) -> UserOut:
        """Change a user's name, role or daily_query_limit (fields left out stay as they are);
        a new limit applies to the current day at once."""
        changes = UserChanges(full_name=body.full_name, daily_query_limit=body.daily_query_limit,
                              role=Role(body.role) if body.role else None)
        user = await _deps(request).auth.repo.update_user(user_id, changes)
        if user is None:
            raise ApiError(404, "NOT_FOUND", f"User {user_id} not found")
        return user_out(user)

    @router.post("/api/v1/admin/users/{user_id}/disable", response_model=UserOut, tags=["admin"], **allow(ADMINS, bucket="admin"))
    async def disable_user(user_id: int, request: Request) -> UserOut:
        """Disabled users cannot log in or refresh, and every session they had ends at once:
        enabling them again does not bring old tokens back."""
        return await _set_disabled(request, user_id, True)

    @router.post("/api/v1/admin/users/{user_id}/enable", response_model=UserOut, tags=["admin"], **allow(ADMINS, bucket="admin"))
    async def enable_user(user_id: int, request: Request) -> UserOut:
        return await _set_disabled(request, user_id, False)

    @router.post("/api/v1/admin/api-keys", status_code=201, response_model=ApiKeyCreated, tags=["admin"], **allow(ADMINS, bucket="admin"))
    async def create_api_key(body: CreateApiKeyRequest, request: Request) -> ApiKeyCreated:
        """A report-API key. The key is in this answer only; the server keeps its hash."""
        user: User = request.state.user
        raw, record = await create_report_key(_deps(request).auth.repo, body.name, user.id)
        return ApiKeyCreated(**_key_fields(record), api_key=raw)

    @router.get("/api/v1/admin/api-keys", response_model=ApiKeyList, tags=["admin"], **allow(ADMINS, bucket="admin"))
    async def list_api_keys(request: Request) -> ApiKeyList:
        keys = await _deps(request).auth.repo.list_api_keys()
        return ApiKeyList(keys=[ApiKeyOut(**_key_fields(k)) for k in keys])

    @router.delete("/api/v1/admin/api-keys/{key_id}", response_model=ApiKeyOut, tags=["admin"], **allow(ADMINS, bucket="admin"))
    async def revoke_api_key(key_id: int, request: Request) -> ApiKeyOut:
        key = await _deps(request).auth.repo.revoke_api_key(key_id)
        if key is None:
            raise ApiError(404, "NOT_FOUND", f"API key {key_id} not found")
        request.app.state.report.keys.forget(key.key_hash)
        return ApiKeyOut(**_key_fields(key))

    return router


def _key_fields(key) -> dict:
    return {"id": key.id, "name": key.name, "prefix": key.prefix,
            "created_at": key.created_at, "revoked_at": key.revoked_at}


async def create_report_key(repo, name: str, created_by: int | None):
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    record = await repo.add_api_key(
        name, hashlib.sha256(raw.encode()).hexdigest(), raw[:10], created_by
    )
    return raw, record
