"""Session drafts: the latest markdown (and footnotes) of each section a session produced.

A report is written section by section within one frontend session; keeping what was drafted
lets the next section build on the earlier ones. A session belongs to the API key's record
that drafted it: another key that sends the same Session-Id has a session of its own.
Losing a session only costs context, never a job.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True)
class SavedSection:
    markdown: str
    citations: list[dict[str, Any]] = field(default_factory=list)

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, raw: str) -> SavedSection:
        try:
            data = json.loads(raw)
        except ValueError:
            return cls(markdown=raw)  # written before sections kept their footnotes
        if not isinstance(data, dict):
            return cls(markdown=raw)
        return cls(markdown=data.get("markdown", ""), citations=list(data.get("citations") or []))


def session_key(owner: str, session_id: str) -> str:
    """One key per (owner, session): neither id can be made to collide with another pair."""
    return hashlib.sha256(f"{owner}\x00{session_id}".encode()).hexdigest()[:40]


class SessionDrafts(ABC):
    """Sections expire `ttl_s` after the session's last saved section."""

    @abstractmethod
    async def load(self, owner: str, session_id: str) -> dict[str, SavedSection]:
        """Section title -> latest section, empty for an unknown or expired session."""

    @abstractmethod
    async def save(self, owner: str, session_id: str, section_title: str, section: SavedSection) -> None:
        """Replace the section and restart the session's time to live."""

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class InMemorySessionDrafts(SessionDrafts):
    def __init__(self, ttl_s: int = 24 * 3600, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, tuple[float, dict[str, SavedSection]]] = {}

    async def load(self, owner: str, session_id: str) -> dict[str, SavedSection]:
        key = session_key(owner, session_id)
        entry = self._sessions.get(key)
        if entry is None:
            return {}
        expires_at, sections = entry
        if expires_at <= self._clock():
            del self._sessions[key]
            return {}
        return dict(sections)

    async def save(self, owner: str, session_id: str, section_title: str, section: SavedSection) -> None:
        sections = await self.load(owner, session_id)
        sections[section_title] = section
        self._sessions[session_key(owner, session_id)] = (self._clock() + self._ttl_s, sections)


class RedisSessionDrafts(SessionDrafts):
    """One hash per session, `<namespace>:session:<session_key>`, field = section title,
    value = the section as JSON."""

    def __init__(self, url: str, *, namespace: str = "beacon", ttl_s: int = 24 * 3600) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._namespace = namespace
        self._ttl_s = ttl_s

    def _key(self, owner: str, session_id: str) -> str:
        return f"{self._namespace}:session:{session_key(owner, session_id)}"

    async def load(self, owner: str, session_id: str) -> dict[str, SavedSection]:
        raw = await self._redis.hgetall(self._key(owner, session_id))
        return {title: SavedSection.loads(value) for title, value in raw.items()}

    async def save(self, owner: str, session_id: str, section_title: str, section: SavedSection) -> None:
        key = self._key(owner, session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, section_title, section.dumps())
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
