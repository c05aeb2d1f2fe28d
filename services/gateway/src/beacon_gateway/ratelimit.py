"""Per-user rate limits, counted atomically in Redis (memory in embedded mode) by `limits`.

Fixed windows aligned to the clock (a day window resets at 00:00 UTC), so every gateway
replica sharing one Redis shares one budget and reports the same reset time.
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter

from beacon_runtime.errors import DependencyUnavailable

WINDOWS = {"day": RateLimitItemPerDay, "hour": RateLimitItemPerHour, "minute": RateLimitItemPerMinute}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        return headers


class DailyQuota(RateLimitItemPerDay):
    """A per-user daily limit whose counter does not depend on the limit: `limits` puts the
    amount in the key, so raising a user's daily_query_limit would restart today's count."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(i) for i in identifiers), "quota-day"])


class RateLimiter:
    def __init__(self, redis_url: str | None, namespace: str = "beacon") -> None:
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            self._storage = RedisStorage(
                uri, implementation="redispy", key_prefix=f"{namespace}:rl",
                wrap_exceptions=True, socket_timeout=2, socket_connect_timeout=2,
            )
        else:
            self._storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage)

    @staticmethod
    def item(limit: int, window: str, multiple: int = 1) -> RateLimitItem:
        return WINDOWS[window](limit, multiple)

    async def hit(self, bucket: str, identity: str, item: RateLimitItem) -> Decision:
        """Count one request; the decision says whether it fits in the window. A request
        refused because the window is spent is not counted, so raising a limit later in the
        window grants exactly the difference."""
        try:
            allowed = await self._limiter.test(item, bucket, identity)
            if allowed:
                allowed = await self._limiter.hit(item, bucket, identity)
            stats = await self._limiter.get_window_stats(item, bucket, identity)
        except Exception as exc:  # noqa: BLE001 - wrap_exceptions makes every storage error one type
            raise DependencyUnavailable(f"rate-limit storage: {exc.__class__.__name__}") from exc
        return Decision(allowed, item.amount, max(0, stats.remaining), int(stats.reset_time))

    async def peek(self, bucket: str, identity: str, item: RateLimitItem) -> Decision:
        try:
            stats = await self._limiter.get_window_stats(item, bucket, identity)
        except Exception as exc:  # noqa: BLE001
            raise DependencyUnavailable(f"rate-limit storage: {exc.__class__.__name__}") from exc
        return Decision(stats.remaining > 0, item.amount, max(0, stats.remaining), int(stats.reset_time))

    async def clear(self, bucket: str, identity: str, item: RateLimitItem) -> None:
        await self._limiter.clear(item, bucket, identity)

    async def ping(self) -> bool:
        try:
            return bool(await self._storage.check())
        except Exception:  # noqa: BLE001
            return False
