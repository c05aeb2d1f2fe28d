"""SSE streaming of answers through a real HTTP server, with a scripted worker on the bus
standing in for rag-query (which has its own tests)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Header
from sse_client import read_events, sse_events

from beacon_contracts.events import Envelope, JobCompleted, JobKind, QueryFrame
from beacon_gateway.bootstrap import build
from beacon_gateway.repository import Role
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.serve import attach_lifespan

QUESTION = "What was Reliance's revenue in FY2024?"
SCRIPT = [
    ("node", {"node": "router", "status": "completed", "route": "vector_store"}),
    ("node", {"node": "retrieve", "status": "completed", "documents_found": 8}),
    ("token", {"content": "Revenue was "}),
    ("token", {"content": "₹9,74,864 crore [1]."}),
    ("citation", {"index": 1, "document_title": "RIL Annual Report FY2024", "page_number": 45}),
]


class ScriptedWorker:
    """Publishes SCRIPT for every query, out of order and with a duplicate, then `done`.
    `hold` keeps it from finishing until released, to test disconnects and resumes."""

    def __init__(self, bus: InMemoryBus) -> None:
        self.bus = bus
        self.hold = asyncio.Event()
        self.hold.set()
        self.cancelled: list[str] = []
        bus.subscribe("worker", ["job.requested.query"], self.run)
        bus.subscribe("worker-cancel", ["job.cancelled"], self.cancel)

    async def run(self, envelope: Envelope) -> None:
        query_id = envelope.payload["job_id"]
        frames = [QueryFrame(query_id=query_id, seq=i, event=e, data=d) for i, (e, d) in enumerate(SCRIPT)]
        for frame in [frames[1], frames[0], frames[0], *frames[2:]]:
            await self.bus.publish(envelope.follow(frame))
        await self.hold.wait()
        done = QueryFrame(query_id=query_id, seq=len(SCRIPT), event="done",
                          data={"id": query_id, "latency_ms": 5, "status": "completed"})
        await self.bus.publish(envelope.follow(done))
        await self.bus.publish(envelope.follow(JobCompleted(
            job_id=query_id, kind=JobKind.QUERY, outcome="completed", result={"id": query_id})))

    async def cancel(self, envelope: Envelope) -> None:
        self.cancelled.append(envelope.payload["job_id"])


class GraceClock:
    """Stands in for the cancel grace period's sleep: it ends when the test says so."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self._over = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.started.set()
        await self._over.wait()

    async def run_out(self, deps) -> None:
        """End the grace period and wait for the gateway's decision to be taken."""
        await self.started.wait()
        self._over.set()
        await asyncio.gather(*deps.pending_cancels)


def rag_query_stub() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/query/{query_id}")
    async def get_query(query_id: str, x_user_id: str = Header()):
        return {"id": query_id, "question": QUESTION, "status": "completed", "owner_seen": x_user_id}

    return app


@pytest.fixture
def grace() -> GraceClock:
    return GraceClock()


@pytest.fixture
async def server(grace):
    bus = InMemoryBus()
    worker = ScriptedWorker(bus)
    settings = GatewaySettings(api_keys="k", jwt_secret="s" * 40, argon2_time_cost=1,
                               argon2_memory_kib=8192, sse_ping_s=0.5)
    service = build(settings, Adapters(settings, bus=bus, jobs=InMemoryJobStore()),
                    internal_apps={"rag-query": rag_query_stub()})
    service.http.state.query.sleep = grace
    attach_lifespan(service.http, bus=bus, services=[service])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    uv = uvicorn.Server(uvicorn.Config(service.http, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.02)
    auth = service.http.state.research.auth
    tokens = {}
    for role in (Role.USER, Role.ADMIN):
        await auth.create_user(f"{role.value}@x.io", "password-1", role.value, role, 100)
        tokens[role] = {"Authorization": f"Bearer {(await auth.login(f'{role.value}@x.io', 'password-1')).access_token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client, tokens, worker, service.http.state.query
    uv.should_exit = True
    await task


async def test_stream_relays_frames_in_order_once(server):
    client, tokens, *_ = server
    async with client.stream("POST", "/api/v1/query/stream", headers=tokens[Role.USER],
                             json={"question": QUESTION, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = await read_events(response)
    assert [e.event for e in events] == ["node", "node", "token", "token", "citation", "done"]
    assert [e.id for e in events] == ["0", "1", "2", "3", "4", "5"]
    assert events[0].data == SCRIPT[0][1]
    assert events[-1].data["status"] == "completed"


async def test_resume_with_last_event_id_loses_nothing(server):
    client, tokens, worker, _ = server
    worker.hold.clear()
    async with client.stream("POST", "/api/v1/query/stream", headers=tokens[Role.USER],
                             json={"question": QUESTION}) as response:
        query_id = response.headers["x-query-id"]
        first = await read_events(response, stop_after=3)
    worker.hold.set()
    async with client.stream("GET", f"/api/v1/query/stream/{query_id}",
                             headers={**tokens[Role.USER], "Last-Event-ID": first[-1].id}) as response:
        rest = await read_events(response)
    assert [e.id for e in first + rest] == [str(i) for i in range(6)]
    assert rest[-1].event == "done"


async def test_another_user_cannot_attach(server):
    client, tokens, worker, _ = server
    async with client.stream("POST", "/api/v1/query/stream", headers=tokens[Role.USER],
                             json={"question": QUESTION}) as response:
        query_id = response.headers["x-query-id"]
        await read_events(response)
    other = await client.get(f"/api/v1/query/stream/{query_id}", headers={"Authorization": "Bearer nope"})
    assert other.status_code == 401
    missing = await client.get("/api/v1/query/stream/not-a-query", headers=tokens[Role.USER])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


async def test_disconnect_without_return_cancels_the_query(server, grace):
    client, tokens, worker, deps = server
    worker.hold.clear()
    async with client.stream("POST", "/api/v1/query/stream", headers=tokens[Role.USER],
                             json={"question": QUESTION}) as response:
        query_id = response.headers["x-query-id"]
        await read_events(response, stop_after=2)
    await grace.run_out(deps)
    worker.hold.set()
    await worker.bus.drain()
    assert worker.cancelled == [query_id]


async def test_disconnect_then_prompt_resume_does_not_cancel(server, grace):
    client, tokens, worker, deps = server
    worker.hold.clear()
    async with client.stream("POST", "/api/v1/query/stream", headers=tokens[Role.USER],
                             json={"question": QUESTION}) as response:
        query_id = response.headers["x-query-id"]
        seen = await read_events(response, stop_after=2)
    async with client.stream("GET", f"/api/v1/query/stream/{query_id}",
                             headers={**tokens[Role.USER], "Last-Event-ID": seen[-1].id}) as response:
        events = sse_events(response)
        resumed = [await anext(events)]  # attached again
        await grace.run_out(deps)  # the grace period ends while the client is attached
        worker.hold.set()
        rest = [event async for event in events]
    await worker.bus.drain()
    assert [e.id for e in seen + resumed + rest] == [str(i) for i in range(6)]
    assert worker.cancelled == []


async def test_sync_query_waits_for_the_answer_and_returns_the_record(server):
    client, tokens, *_ = server
    response = await client.post("/api/v1/query", headers=tokens[Role.USER], json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == QUESTION and body["status"] == "completed"
    assert body["owner_seen"] == "1", "the gateway tells rag-query who asks"


async def test_short_question_is_a_validation_error(server):
    client, tokens, *_ = server
    response = await client.post("/api/v1/query/stream", headers=tokens[Role.USER], json={"question": "short"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "question"


async def test_query_rate_limit_counts_in_auth_me(server):
    client, tokens, *_ = server
    await client.post("/api/v1/query", headers=tokens[Role.USER], json={"question": QUESTION})
    response = await client.post("/api/v1/query", headers=tokens[Role.USER], json={"question": QUESTION})
    assert response.headers["x-ratelimit-limit"] == "100"
    assert response.headers["x-ratelimit-remaining"] == "98"
    me = (await client.get("/api/v1/auth/me", headers=tokens[Role.USER])).json()
    assert me["queries_today"] == 2
