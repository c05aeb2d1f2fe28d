"""What a running query publishes while it runs, and how it is stopped.

`FrameEmitter` numbers a query's QueryFrames from 0 and publishes them one at a time, so the
gateway can order and replay them. `stream_batched` turns a model's token stream into a few
`token` frames (flushed by size or age). `CancelRegistry` holds the cancellations this
process has heard of; a running query checks it between nodes and between token batches.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from beacon_contracts.events import Envelope, QueryFrame
from beacon_runtime.bus.port import EventBus


class QueryCancelled(Exception):
    pass


class FrameEmitter:
    """`first_seq` is where a stream goes on: the frames after a review follow those sent
    before it, by another handler (maybe in another process)."""

    def __init__(self, bus: EventBus, origin: Envelope, query_id: str, first_seq: int = 0) -> None:
        self._bus, self._origin, self.query_id = bus, origin, query_id
        self.seq = first_seq
        self.token_chars = 0

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        frame = QueryFrame(query_id=self.query_id, seq=self.seq, event=event, data=data)
        self.seq += 1
        await self._bus.publish(self._origin.follow(frame))

    async def node(self, node: str, **data: Any) -> None:
        await self.emit("node", {"node": node, "status": "completed", **data})

    async def token(self, content: str) -> None:
        self.token_chars += len(content)
        await self.emit("token", {"content": content})

    async def citation(self, citation: dict[str, Any]) -> None:
        await self.emit("citation", {
            key: citation.get(key) for key in ("index", "document_id", "document_title", "page_number")
        })

    async def done(self, latency_ms: int, status: str, **data: Any) -> None:
        await self.emit("done", {"id": self.query_id, "latency_ms": latency_ms, "status": status,
                                 **data})

    async def review_pending(self, review_id: str, reason: str) -> None:
        """The answer waits for a reviewer: the stream stays open, `done` comes after."""
        await self.emit("node", {"node": "review", "status": "pending", "review_id": review_id,
                                 "reason": reason})

    async def error(self, code: str, message: str) -> None:
        await self.emit("error", {"code": code, "message": message})


class CancelToken:
    def __init__(self, query_id: str, registry: CancelRegistry) -> None:
        self.query_id, self._registry = query_id, registry

    @property
    def cancelled(self) -> bool:
        return self._registry.is_cancelled(self.query_id)

    def check(self) -> None:
        if self.cancelled:
            raise QueryCancelled(self.query_id)


class CancelRegistry:
    """Ids of cancelled queries, remembered (boundedly) even before the query starts here:
    a cancel may overtake its request on another queue."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._cancelled: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def cancel(self, query_id: str) -> None:
        self._cancelled[query_id] = None
        self._cancelled.move_to_end(query_id)
        while len(self._cancelled) > self._capacity:
            self._cancelled.popitem(last=False)

    def is_cancelled(self, query_id: str) -> bool:
        return query_id in self._cancelled

    def token(self, query_id: str) -> CancelToken:
        return CancelToken(query_id, self)


async def stream_batched(
    pieces: AsyncIterator[str],
    emit: Callable[[str], Awaitable[None]],
    *,
    cancel: CancelToken,
    max_chars: int,
    max_age_s: float,
    poll_s: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Forward `pieces` through `emit` in batches of at least `max_chars` characters, or
    whatever arrived within `max_age_s` of the batch's first piece (a stalled model does not
    hold back text already received). Returns the whole text. Cancellation is checked before
    each batch; on cancel the model stream is closed and QueryCancelled raised."""
    parts: list[str] = []
    buffer: list[str] = []
    size = 0
    first_at = 0.0
    iterator = pieces.__aiter__()
    pending: asyncio.Task | None = None

    async def flush() -> None:
        nonlocal buffer, size
        if buffer:
            cancel.check()
            text = "".join(buffer)
            buffer, size = [], 0
            await emit(text)

    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            timeout = max(0.0, first_at + max_age_s - clock()) if buffer else poll_s
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                if buffer:
                    await flush()
                else:
                    cancel.check()  # a stalled model must not delay a cancellation
                continue
            task, pending = pending, None
            try:
                piece = task.result()
            except StopAsyncIteration:
                break
            if not piece:
                continue
            parts.append(piece)
            if not buffer:
                first_at = clock()
            buffer.append(piece)
            size += len(piece)
            if size >= max_chars or clock() - first_at >= max_age_s:
                await flush()
        await flush()
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    return "".join(parts)
