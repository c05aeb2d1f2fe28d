"""Who may call which /api/v1 endpoint, and which rate-limit bucket it counts against.

Written once, as data. tests/unit/gateway/test_policy.py checks that every /api/v1 route
of the app has an entry here (a route without one is refused: fail closed) and exercises
every route with every role.
"""

from __future__ import annotations

from dataclasses import dataclass

from beacon_gateway.repository import Role

P = "/api/v1"


@dataclass(frozen=True)
class RoutePolicy:
    roles: frozenset[Role] | None  # None: public, no token needed
    bucket: str | None = None  # rate-limit bucket, None: not limited


PUBLIC = RoutePolicy(roles=None)
EVERYONE = frozenset(Role)
STAFF = frozenset({Role.REVIEWER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


def _any(bucket: str | None = None) -> RoutePolicy:
    return RoutePolicy(EVERYONE, bucket)


POLICIES: dict[tuple[str, str], RoutePolicy] = {
    # identity
    ("POST", f"{P}/auth/login"): PUBLIC,
    ("POST", f"{P}/auth/refresh"): PUBLIC,
    ("POST", f"{P}/auth/logout"): _any(),
    ("GET", f"{P}/auth/me"): _any(),
    # questions
    ("POST", f"{P}/query"): _any("query"),
    ("POST", f"{P}/query/stream"): _any("query_stream"),
    ("GET", f"{P}/query/stream/{{query_id}}"): _any(),
    ("GET", f"{P}/query/history"): _any(),
    ("GET", f"{P}/query/{{query_id}}"): _any(),
    ("POST", f"{P}/query/{{query_id}}/feedback"): _any(),
    # company data
    ("GET", f"{P}/companies"): _any("companies"),
    ("GET", f"{P}/companies/{{symbol}}"): _any("companies"),
    ("GET", f"{P}/companies/{{symbol}}/fundamentals"): _any("companies"),
    ("GET", f"{P}/companies/{{symbol}}/prices"): _any("companies"),
    ("GET", f"{P}/companies/{{symbol}}/documents"): _any("companies"),
    ("GET", f"{P}/companies/{{symbol}}/news"): _any("companies"),
    # documents: everyone reads, admins add
    ("GET", f"{P}/documents"): _any("documents"),
    ("GET", f"{P}/documents/{{document_id}}"): _any("documents"),
    ("GET", f"{P}/documents/{{document_id}}/download"): _any("documents"),
    ("GET", f"{P}/documents/{{document_id}}/ingestion-status"): _any("documents"),
    ("POST", f"{P}/documents/ingest"): RoutePolicy(ADMINS, "documents"),
    ("POST", f"{P}/documents/upload"): RoutePolicy(ADMINS, "documents"),
    # human review
    ("GET", f"{P}/hitl/pending"): RoutePolicy(STAFF),
    ("GET", f"{P}/hitl/{{review_id}}"): RoutePolicy(STAFF),
    ("GET", f"{P}/hitl/{{review_id}}/audit"): RoutePolicy(ADMINS),
    ("POST", f"{P}/hitl/{{review_id}}/approve"): RoutePolicy(STAFF),
    ("POST", f"{P}/hitl/{{review_id}}/reject"): RoutePolicy(STAFF),
    ("POST", f"{P}/hitl/{{review_id}}/edit"): RoutePolicy(STAFF),
    # administration (health is public: load balancers and probes call it)
    ("GET", f"{P}/admin/health"): PUBLIC,
    ("GET", f"{P}/admin/stats/ingestion"): RoutePolicy(ADMINS, "admin"),
    ("GET", f"{P}/admin/stats/queries"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/bootstrap"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/companies/import"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/fundamentals/import"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/prices/import"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/news/import"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/users"): RoutePolicy(ADMINS, "admin"),
    ("GET", f"{P}/admin/users"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/users/{{user_id}}/disable"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/users/{{user_id}}/enable"): RoutePolicy(ADMINS, "admin"),
    ("POST", f"{P}/admin/api-keys"): RoutePolicy(ADMINS, "admin"),
    ("GET", f"{P}/admin/api-keys"): RoutePolicy(ADMINS, "admin"),
    ("DELETE", f"{P}/admin/api-keys/{{key_id}}"): RoutePolicy(ADMINS, "admin"),
}


def policy_for(method: str, route_path: str) -> RoutePolicy | None:
    return POLICIES.get((method.upper(), route_path))
