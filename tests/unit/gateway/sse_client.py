"""A small SSE client for tests: parses `event`, `id`, `data` and comment lines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass
class SseEvent:
    event: str
    id: str | None
    data: dict


async def sse_events(response) -> AsyncIterator[SseEvent]:
    """The events of a streamed response, as they arrive."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue  # keep-alive comment
        if line == "":
            if "data" in fields:
                yield SseEvent(fields.get("event", "message"), fields.get("id"), json.loads(fields["data"]))
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


async def read_events(response, *, stop_after: int | None = None) -> list[SseEvent]:
    events: list[SseEvent] = []
    async for event in sse_events(response):
        events.append(event)
        if stop_after is not None and len(events) >= stop_after:
            break
    return events
