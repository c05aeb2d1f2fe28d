"""The per-query log of streamed frames, which the SSE endpoint relays.

Workers publish QueryFrame events; any gateway replica may consume any of them, in any
order, possibly twice. So writers just append, and readers put frames in `seq` order and
drop duplicates: a reader emits frame n only after 0..n-1, and resumes after the
Last-Event-ID a client sends (the seq it saw last). Redis streams in distributed mode,
memory in embedded mode.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from beacon_runtime.errors import DependencyUnavailable

TERMINAL_EVENTS = frozenset({"done", "error"})


def is_hold(frame: Frame) -> bool:
    """The `review` node frame with status `pending`: the answer waits for a person."""
    return (frame.event == "node" and frame.data.get("node") == "review"
            and frame.data.get("status") == "pending")


@dataclass(frozen=True)
class Frame:
    seq: int
    event: str
    data: dict[str, Any]


class FrameLog(ABC):
    @abstractmethod
    async def append(self, query_id: str, frame: Frame) -> None: ...

    @abstractmethod
    async def _read_raw(self, query_id: str, cursor: Any, block_s: float) -> tuple[list[Frame], Any]:
        """Frames appended after `cursor` (None: from the start), waiting up to block_s."""

    @abstractmethod
    async def mark_attached(self, query_id: str) -> None:
        """Record that a client is (re)reading this query now."""

    @abstractmethod
    async def last_attached(self, query_id: str) -> float | None: ...

    def follow(
        self, query_id: str, *, after_seq: int = -1, idle_timeout_s: float = 60.0,
        block_s: float = 5.0, until: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> FrameReader:
        """Frames with seq > after_seq in order, until a terminal frame (see FrameReader)."""
        return FrameReader(self, query_id, after_seq=after_seq, idle_timeout_s=idle_timeout_s,
                           block_s=block_s, until=until, clock=clock)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class FrameReader:
    """Iterates a query's frames with seq > after_seq in order, until a terminal frame.

    Raises TimeoutError if nothing new arrives for `idle_timeout_s` (the caller decides what
    a silent worker means), except while the answer is held for a review, which may take
    hours. Stops without a terminal frame at the time `until` of `clock` (monotonic), if given.
    `held` tells whether the query's latest frame (yielded, or before `after_seq`) is a hold.
    """

    def __init__(self, log: FrameLog, query_id: str, *, after_seq: int, idle_timeout_s: float,
                 block_s: float, until: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log, self.query_id = log, query_id
        self._after_seq, self._idle_timeout_s = after_seq, idle_timeout_s
        self._block_s, self._until, self._clock = block_s, until, clock
        self.held = False

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        next_seq = self._after_seq + 1
        top_seq = -1
        waiting: dict[int, Frame] = {}
        cursor = None
        last_progress = self._clock()
        while True:
            block_s = self._block_s
            if self._until is not None:
                block_s = min(block_s, self._until - self._clock())
                if block_s <= 0:
                    return
            frames, cursor = await self._log._read_raw(self.query_id, cursor, block_s)
            for frame in frames:
                if frame.seq > top_seq:
                    top_seq, self.held = frame.seq, is_hold(frame)
                if frame.seq >= next_seq:
                    waiting[frame.seq] = frame
            while next_seq in waiting:
                frame = waiting.pop(next_seq)
                next_seq += 1
                last_progress = self._clock()
                yield frame
                if frame.event in TERMINAL_EVENTS:
                    return
            if not self.held and self._clock() - last_progress > self._idle_timeout_s:
                raise TimeoutError(f"no frames for query {self.query_id} in {self._idle_timeout_s}s")


class InMemoryFrameLog(FrameLog):
    def __init__(self) -> None:
        self._frames: dict[str, list[Frame]] = defaultdict(list)
        self._attached: dict[str, float] = {}
        self._changed = asyncio.Condition()

    async def append(self, query_id: str, frame: Frame) -> None:
        async with self._changed:
            self._frames[query_id].append(frame)
            self._changed.notify_all()

    async def _read_raw(self, query_id: str, cursor: Any, block_s: float) -> tuple[list[Frame], Any]:
        position = cursor or 0
        async with self._changed:
            if len(self._frames[query_id]) <= position:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: len(self._frames[query_id]) > position), block_s
                    )
                except TimeoutError:
                    return [], position
            frames = self._frames[query_id][position:]
        return frames, position + len(frames)

    async def mark_attached(self, query_id: str) -> None:
        self._attached[query_id] = time.time()

    async def last_attached(self, query_id: str) -> float | None:
        return self._attached.get(query_id)


class RedisFrameLog(FrameLog):
    def __init__(self, redis_url: str, *, namespace: str = "beacon", ttl_s: int = 3600) -> None:
        import redis.asyncio as redis

        # Blocking pool: SSE readers hold a connection while they XREAD BLOCK, so a burst of
        # streams waits for a connection rather than failing.
        pool = redis.BlockingConnectionPool.from_url(
            redis_url, socket_timeout=10, socket_connect_timeout=2, max_connections=256, timeout=5
        )
        self._redis = redis.Redis(connection_pool=pool)
        self._ns = namespace
        self._ttl_s = ttl_s

    def _key(self, query_id: str) -> str:
        return f"{self._ns}:frames:{query_id}"

    async def append(self, query_id: str, frame: Frame) -> None:
        key = self._key(query_id)
        fields = {"seq": frame.seq, "event": frame.event, "data": json.dumps(frame.data)}
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xadd(key, fields)
                pipe.expire(key, self._ttl_s)
                await pipe.execute()
        except (OSError, ConnectionError) as exc:
            raise DependencyUnavailable(f"redis: {exc}") from exc
        except Exception as exc:
            if exc.__class__.__module__.startswith("redis"):
                raise DependencyUnavailable(f"redis: {exc.__class__.__name__}") from exc
            raise

    async def _read_raw(self, query_id: str, cursor: Any, block_s: float) -> tuple[list[Frame], Any]:
        try:
            answer = await self._redis.xread(
                {self._key(query_id): cursor or "0-0"}, block=int(block_s * 1000), count=500
            )
        except Exception as exc:
            if isinstance(exc, (OSError, ConnectionError)) or exc.__class__.__module__.startswith("redis"):
                raise DependencyUnavailable(f"redis: {exc.__class__.__name__}") from exc
            raise
        frames = []
        for _key, entries in answer or []:
            for entry_id, fields in entries:
                cursor = entry_id
                frames.append(Frame(int(fields[b"seq"]), fields[b"event"].decode(), json.loads(fields[b"data"])))
        return frames, cursor

    async def mark_attached(self, query_id: str) -> None:
        await self._redis.set(f"{self._key(query_id)}:attached", time.time(), ex=self._ttl_s)

    async def last_attached(self, query_id: str) -> float | None:
        value = await self._redis.get(f"{self._key(query_id)}:attached")
        return float(value) if value is not None else None

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:  # noqa: BLE001
            return False

    async def close(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()
