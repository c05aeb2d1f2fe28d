"""gateway, rag-query and hitl in one process on the in-process bus, the gateway served over
real HTTP (SSE needs a real server), rag-query answering from the synthetic passages of
rag_harness. No server needed: the review flow end to end, as embedded mode runs it."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).parents[1] / "rag_query"))
sys.path.insert(0, str(Path(__file__).parents[1] / "gateway"))

from rag_harness import CATALOGUE, FUNDAMENTALS, PASSAGES, TODAY  # noqa: E402
from sse_client import SseEvent  # noqa: E402

from beacon_gateway.bootstrap import build as build_gateway  # noqa: E402
from beacon_gateway.repository import Role  # noqa: E402
from beacon_gateway.settings import GatewaySettings  # noqa: E402
from beacon_hitl.bootstrap import build as build_hitl  # noqa: E402
from beacon_hitl.settings import HitlSettings  # noqa: E402
from beacon_rag_query.answerer import ExtractiveAnswerer  # noqa: E402
from beacon_rag_query.bootstrap import build as build_rag_query  # noqa: E402
from beacon_rag_query.settings import RagQuerySettings  # noqa: E402
from beacon_rag_query.sources import (  # noqa: E402
    InMemoryCatalogue,
    InMemoryFundamentals,
    InMemoryPassageSearch,
)
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus  # noqa: E402
from beacon_runtime.jobs.memory import InMemoryJobStore  # noqa: E402
from beacon_runtime.serve import attach_lifespan  # noqa: E402

SENSITIVE = "What is the fraud investigation status at Reliance in FY2024?"
PLAIN = "What was Reliance's revenue in FY2024?"
PASSWORD = "password-123"

__all__ = ["PLAIN", "SENSITIVE", "EventReader", "SseEvent", "Stack", "is_hold", "review_stack"]


class HeldGrace:
    """The gateway's cancel grace period, held open until the stack closes: a cancel the
    gateway scheduled stays in its pending set, where a test sees it without waiting."""

    def __init__(self) -> None:
        self.over = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        await self.over.wait()


class StreamClock:
    """The gateway's clock for a stream's idle timeout and lifetime cap: it stands still
    until a test moves it, so no timeout fires while the test is not looking."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Stack:
    client: httpx.AsyncClient
    bus: InMemoryBus
    headers: dict[Role, dict[str, str]]
    cancelled: list[str]
    pending_cancels: set[asyncio.Task]
    clock: StreamClock

    async def stream_until_hold(self, question: str = SENSITIVE) -> tuple[str, list[SseEvent]]:
        async with self.client.stream("POST", "/api/v1/query/stream", headers=self.headers[Role.USER],
                                      json={"question": question}) as response:
            assert response.status_code == 200
            events = await EventReader(response).until(is_hold)
            return response.headers["x-query-id"], events

    async def decide(self, review_id: str, action: str, body: dict | None = None,
                     role: Role = Role.REVIEWER) -> httpx.Response:
        return await self.client.post(f"/api/v1/hitl/{review_id}/{action}",
                                      headers=self.headers[role], json=body or {})


class EventReader:
    """Reads one SSE response event by event, across several calls."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self) -> SseEvent | None:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line.startswith(":"):
                continue
            if line == "":
                if "data" in fields:
                    return SseEvent(fields.get("event", "message"), fields.get("id"),
                                    json.loads(fields["data"]))
                fields = {}
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        return None

    async def until(self, stop) -> list[SseEvent]:
        """Events up to and including the first one `stop` accepts (or the stream's end)."""
        events: list[SseEvent] = []
        while (event := await self.next()) is not None:
            events.append(event)
            if stop(event):
                break
        return events

    async def rest(self) -> list[SseEvent]:
        return await self.until(lambda _event: False)


def is_hold(event: SseEvent) -> bool:
    return event.data.get("node") == "review" and event.data.get("status") == "pending"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def review_stack(*, hitl: dict | None = None, gateway: dict | None = None):
    bus = InMemoryBus()
    rag_query = build_rag_query(RagQuerySettings(),
                                Adapters(bus=bus, chat_model=ExtractiveAnswerer()),
                                search=InMemoryPassageSearch(PASSAGES),
                                catalogue=InMemoryCatalogue(CATALOGUE),
                                fundamentals=InMemoryFundamentals(FUNDAMENTALS),
                                today=lambda: TODAY)
    review = build_hitl(HitlSettings(**(hitl or {})), Adapters(bus=bus))
    settings = GatewaySettings(**{"api_keys": "k", "jwt_secret": "s" * 40, "argon2_time_cost": 1,
                                  "argon2_memory_kib": 8192, "sse_ping_s": 0.5, **(gateway or {})})
    service = build_gateway(settings, Adapters(settings, bus=bus, jobs=InMemoryJobStore()),
                            internal_apps={"rag-query": rag_query.http, "hitl": review.http})
    grace = HeldGrace()
    service.http.state.query.sleep = grace
    clock = service.http.state.query.clock = StreamClock()
    cancelled: list[str] = []

    async def heard_cancel(envelope) -> None:
        cancelled.append(envelope.payload["job_id"])

    bus.subscribe("test-cancels", ["job.cancelled"], heard_cancel)
    attach_lifespan(service.http, bus=bus, services=[rag_query, review, service])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(service.http, host="127.0.0.1", port=port,
                                           log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        auth = service.http.state.research.auth
        headers = {}
        for role in Role:
            email = f"{role.value}@example.com"
            await auth.create_user(email, PASSWORD, role.value.title(), role, 100)
            token = (await auth.login(email, PASSWORD)).access_token
            headers[role] = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield Stack(client, bus, headers, cancelled, service.http.state.query.pending_cancels, clock)
    finally:
        grace.over.set()
        server.should_exit = True
        await task
