"""The authorization matrix, exercised over every /api/v1 route and every role, as each
route's own policy line (`allow(...)`) declares it."""

from __future__ import annotations

import re

import pytest
from research_stack import bearer, research_stack

from beacon_gateway.api.policy import PUBLIC, RoutePolicy
from beacon_gateway.repository import Role


@pytest.fixture
async def stack(backend):
    async with research_stack(backend) as value:
        yield value


def flat_routes(routes):
    """FastAPI 0.165 keeps included routers as objects; walk into them."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flat_routes(included.routes)
        else:
            yield route


def api_routes(app):
    for route in flat_routes(app.routes):
        path = getattr(route, "path", "")
        if path.startswith("/api/v1"):
            for method in route.methods - {"HEAD", "OPTIONS"}:
                yield method, path, route


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999", path)


async def test_every_route_has_a_policy_and_its_document_says_so(stack):
    client, _, service = stack
    spec = (await client.get("/openapi.json")).json()
    routes = list(api_routes(service.http))
    assert len(routes) >= 40
    for method, path, route in routes:
        policy = RoutePolicy.of(route)
        assert policy is not None, f"{method} {path} has no allow(...)"
        operation = spec["paths"][path][method.lower()]
        assert operation["x-callers"] == policy.callers
        assert operation["security"] == ([] if policy.callers == PUBLIC else [{"bearerAuth": []}])
        assert set(operation.get("x-roles", ())) == {role.value for role in policy.roles}


async def test_matrix_for_every_route_and_role(stack):
    client, tokens, service = stack
    # Logout last: it ends the session of the token it is called with.
    for method, path, route in sorted(api_routes(service.http),
                                      key=lambda r: (r[1].endswith("/logout"), r[:2])):
        policy = RoutePolicy.of(route)
        url = concrete(path)
        if policy.callers == PUBLIC:
            continue
        anonymous = await client.request(method, url)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"
        for role in Role:
            response = await client.request(method, url, headers=bearer(tokens[role]))
            if role in policy.roles:
                assert response.status_code not in (401, 403), (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role)
                assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_unconfigured_upstream_is_503_in_the_error_format(stack):
    client, tokens, _ = stack
    response = await client.get("/api/v1/companies", headers=bearer(tokens[Role.USER]))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


async def test_rate_limit_headers_and_429(backend):
    async with research_stack(backend, rate_limit_companies_per_hour=2) as (client, tokens, _):
        headers = bearer(tokens[Role.USER])
        first = await client.get("/api/v1/companies", headers=headers)
        second = await client.get("/api/v1/companies", headers=headers)
        assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("2", "1")
        assert second.headers["x-ratelimit-remaining"] == "0"
        third = await client.get("/api/v1/companies", headers=headers)
        assert third.status_code == 429
        assert third.json()["error"]["code"] == "RATE_LIMITED"
        assert int(third.headers["retry-after"]) >= 1
        assert int(third.headers["x-ratelimit-reset"]) > 0
        # Another user has a budget of their own.
        other = await client.get("/api/v1/companies", headers=bearer(tokens[Role.ADMIN]))
        assert other.headers["x-ratelimit-remaining"] == "1"


async def test_security_headers_on_every_answer(stack):
    client, *_ = stack
    response = await client.get("/api/v1/admin/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
