"""A small SSE client for tests: parses `event`, `id`, `data` and comment lines."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class SseEvent:
    event: str
    id: str | None
    data: dict


async def read_events(response, *, stop_after: int | None = None) -> list[SseEvent]:
    events: list[SseEvent] = []
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue  # keep-alive comment
        if line == "":
            if "data" in fields:
                events.append(SseEvent(fields.get("event", "message"), fields.get("id"), json.loads(fields["data"])))
                if stop_after is not None and len(events) >= stop_after:
                    return events
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value
    return events
