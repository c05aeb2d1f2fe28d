"""Session drafts: the latest markdown of each section a session has produced.

A report is written section by section within one frontend session; keeping what was drafted
lets the next section build on the earlier ones. Losing it only costs context, never a job.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


class SessionDrafts(ABC):
    """Sections expire `ttl_s` after the session's last saved section."""

    @abstractmethod
    async def load(self, session_id: str) -> dict[str, str]:
        """Section title -> latest markdown, empty for an unknown or expired session."""

    @abstractmethod
    async def save(self, session_id: str, section_title: str, markdown: str) -> None:
        """Replace the section's markdown and restart the session's time to live."""

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class InMemorySessionDrafts(SessionDrafts):
    def __init__(self, ttl_s: int = 24 * 3600, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, tuple[float, dict[str, str]]] = {}

    async def load(self, session_id: str) -> dict[str, str]:
        entry = self._sessions.get(session_id)
        if entry is None:
            return {}
        expires_at, sections = entry
        if expires_at <= self._clock():
            del self._sessions[session_id]
            return {}
        return dict(sections)

    async def save(self, session_id: str, section_title: str, markdown: str) -> None:
        sections = await self.load(session_id)
        sections[section_title] = markdown
        self._sessions[session_id] = (self._clock() + self._ttl_s, sections)


class RedisSessionDrafts(SessionDrafts):
    """One hash per session, `<namespace>:session:<session_id>`, field = section title."""

    def __init__(self, url: str, *, namespace: str = "beacon", ttl_s: int = 24 * 3600) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._namespace = namespace
        self._ttl_s = ttl_s

    def _key(self, session_id: str) -> str:
        return f"{self._namespace}:session:{session_id}"

    async def load(self, session_id: str) -> dict[str, str]:
        return await self._redis.hgetall(self._key(session_id))

    async def save(self, session_id: str, section_title: str, markdown: str) -> None:
        key = self._key(session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, section_title, markdown)
            pipe.expire(key, self._ttl_s)
            await pipe.execute()

    async def ping(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()
