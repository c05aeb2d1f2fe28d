"""One dependency guards every /api/v1 route: token, role, rate limit, in that order."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from beacon_gateway.api.errors import ApiError
from beacon_gateway.auth import AuthService, InvalidToken
from beacon_gateway.limits_config import limit_item
from beacon_gateway.policy import policy_for
from beacon_gateway.ratelimit import RateLimiter
from beacon_gateway.repository import User
from beacon_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class ResearchDeps:
    auth: AuthService
    limiter: RateLimiter
    settings: GatewaySettings


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def guard(request: Request) -> User | None:
    deps: ResearchDeps = request.app.state.research
    route = request.scope.get("route")
    policy = policy_for(request.method, getattr(route, "path", ""))
    if policy is None:
        # Fail closed: a route nobody wrote a policy for is not reachable.
        raise ApiError(403, "FORBIDDEN", "No access policy for this endpoint")
    if policy.roles is None:
        return None

    token = _bearer(request)
    if token is None:
        raise ApiError(401, "UNAUTHORIZED", "Missing bearer token",
                       headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = deps.auth.authenticate(token)
        user = await deps.auth.current_user(principal)
    except InvalidToken as exc:
        raise ApiError(401, "UNAUTHORIZED", str(exc).capitalize(),
                       headers={"WWW-Authenticate": "Bearer"}) from exc
    if user.role not in policy.roles:
        raise ApiError(403, "FORBIDDEN", "Your role may not call this endpoint")
    request.state.user = user
    request.state.principal = principal

    if policy.bucket is not None:
        decision = await deps.limiter.hit(
            policy.bucket, str(user.id), limit_item(policy.bucket, user, deps.settings)
        )
        headers = decision.headers()
        request.scope.setdefault("state", {})["extra_headers"] = headers
        if not decision.allowed:
            retry_after = max(1, decision.reset_at - _now())
            raise ApiError(429, "RATE_LIMITED", "Rate limit exceeded",
                           headers={**headers, "Retry-After": str(retry_after)})
    return user


def current_user(request: Request) -> User:
    return request.state.user


def _now() -> int:
    import time

    return int(time.time())
