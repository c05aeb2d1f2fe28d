"""The rate-limit table of the research API contract, with per-user overrides."""

from __future__ import annotations

from limits import RateLimitItem

from beacon_gateway.ratelimit import DailyQuota, RateLimiter
from beacon_gateway.repository import User
from beacon_gateway.settings import GatewaySettings


def limit_item(bucket: str, user: User, settings: GatewaySettings) -> RateLimitItem:
    """`query` is the user's daily_query_limit (default 100). `query_stream` keeps the
    contract's 2:1 ratio (50 of 100) so raising a user's limit raises both; what the user
    already asked today still counts against the new limit."""
    if bucket == "query":
        return DailyQuota(user.daily_query_limit)
    if bucket == "query_stream":
        return DailyQuota(max(1, user.daily_query_limit // 2))
    per_hour = {
        "companies": settings.rate_limit_companies_per_hour,
        "documents": settings.rate_limit_documents_per_hour,
        "admin": settings.rate_limit_admin_per_hour,
    }
    return RateLimiter.item(per_hour[bucket], "hour")
