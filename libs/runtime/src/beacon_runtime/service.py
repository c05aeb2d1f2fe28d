"""What a service's composition root returns, and how a process runs it.

Every service exposes `build(settings, *, bus, ...) -> Service` in `bootstrap.py`. The
distributed entry point (`main.py`) builds real adapters and calls `serve()`; the embedded
app builds twins, calls every service's `build()` with the same bus, and serves the gateway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Hook = Callable[[], Awaitable[None]]


@dataclass
class Service:
    name: str
    http: Any = None  # an ASGI app (FastAPI): the public API or an internal one
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)

    async def start(self) -> None:
        for hook in self.on_start:
            await hook()

    async def stop(self) -> None:
        for hook in reversed(self.on_stop):
            await hook()
