"""Access tokens that must stop working before they expire, shared by every gateway replica.

An access token is a signed JWT: nothing has to be looked up to accept it, so logging out
would leave it valid for the rest of its life (an hour). Revoking writes an entry that
every replica checks on each authenticated request (one Redis MGET):

    <ns>:revoked:family:<family_id>   a session (one login) ended: logout, refresh reuse
    <ns>:revoked:user:<user_id>       every token issued up to that second: user disabled

Each entry lives as long as the longest remaining life of a token it revokes (the access
token TTL), then expires by itself. In memory in embedded mode, in Redis when distributed.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from beacon_runtime.errors import DependencyUnavailable


class Revocations(ABC):
    def __init__(self, ttl_s: int) -> None:
        self.ttl_s = ttl_s

    @abstractmethod
    async def revoke_family(self, family_id: str) -> None: ...

    @abstractmethod
    async def revoke_user(self, user_id: int, up_to: int) -> None:
        """Revoke the user's tokens issued at or before `up_to` (epoch seconds)."""

    @abstractmethod
    async def is_revoked(self, family_id: str, user_id: int, issued_at: int) -> bool: ...

    async def close(self) -> None:
        return None


class InMemoryRevocations(Revocations):
    def __init__(self, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ttl_s)
        self._clock = clock
        self._entries: dict[str, tuple[int, float]] = {}  # key -> (value, expires at)

    async def revoke_family(self, family_id: str) -> None:
        self._set(f"family:{family_id}", 1)

    async def revoke_user(self, user_id: int, up_to: int) -> None:
        self._set(f"user:{user_id}", up_to)

    async def is_revoked(self, family_id: str, user_id: int, issued_at: int) -> bool:
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        user = self._entries.get(f"user:{user_id}")
        return f"family:{family_id}" in self._entries or (user is not None and issued_at <= user[0])

    def _set(self, key: str, value: int) -> None:
        self._entries[key] = (value, self._clock() + self.ttl_s)


class RedisRevocations(Revocations):
    def __init__(self, redis_url: str, *, namespace: str, ttl_s: int) -> None:
        import redis.asyncio as redis

        super().__init__(ttl_s)
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = f"{namespace}:revoked"

    async def revoke_family(self, family_id: str) -> None:
        await self._call(self._redis.set(f"{self._prefix}:family:{family_id}", 1, ex=self.ttl_s))

    async def revoke_user(self, user_id: int, up_to: int) -> None:
        await self._call(self._redis.set(f"{self._prefix}:user:{user_id}", up_to, ex=self.ttl_s))

    async def is_revoked(self, family_id: str, user_id: int, issued_at: int) -> bool:
        family, user = await self._call(self._redis.mget(
            f"{self._prefix}:family:{family_id}", f"{self._prefix}:user:{user_id}"))
        return family is not None or (user is not None and issued_at <= int(user))

    async def _call(self, command):
        try:
            return await command
        except Exception as exc:
            if isinstance(exc, OSError) or exc.__class__.__module__.startswith("redis"):
                raise DependencyUnavailable(f"revocations: {exc.__class__.__name__}") from exc
            raise

    async def close(self) -> None:
        await self._redis.aclose()
