"""Fault scenarios against the services as separate processes over their own RabbitMQ node
and Redis (servers.py), with a slow OpenAI-compatible model that counts every call.

Each scenario submits report jobs, breaks something, and returns the final counts:
accepted (202s and jobs created directly), completed, failed, stuck (not terminal at the
deadline), lost (accepted but unknown), drafted twice (jobs whose draft was completed more
than once: `report.drafted` in the workers' logs), called twice (jobs the model server
received more than one call for, interrupted ones included: billed work) against the calls
in flight at the fault (a call cut off by a crash is made again after it: the one
duplicate effectively-once cannot prevent, counted, never hidden), 503s and refused jobs
drafted anyway.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE.parent))

from netproxy import TcpProxy  # noqa: E402
from processes import (  # noqa: E402
    Process,
    clean_env,
    free_port,
    kill,
    start,
    start_service,
    stop,
    wait_http_ok,
)
from servers import OwnRabbit, OwnRedis  # noqa: E402

from beacon_contracts.commands import GenerateSection  # noqa: E402
from beacon_contracts.events import Envelope, JobKind  # noqa: E402
from beacon_contracts.report_api import GenerateRequest  # noqa: E402
from beacon_contracts.jobs import JobRecord  # noqa: E402
from beacon_contracts.routing import COMMAND_QUEUES  # noqa: E402
from beacon_runtime.bus.rabbit import RabbitBus  # noqa: E402
from beacon_runtime.jobs.redis import RedisJobStore  # noqa: E402

SLOW_LLM = HERE.parent / "e2e" / "slow_llm.py"
API_KEY = "chaos-key-0123456789"
OPPORTUNITY = re.compile(r"Opportunity: (\S+)")
SECTION = {"type": "Feasibility_report", "customer_id": "chaos",
           "section_title": "Executive Summary"}


@dataclass
class Counts:
    scenario: str
    accepted: int = 0
    completed: int = 0
    failed: int = 0
    stuck: int = 0
    lost: int = 0
    drafted_twice: int = 0
    called_twice: int = 0
    interrupted: int = 0
    refused: int = 0  # POSTs answered 503 (the client was told; their jobs must not be drafted)
    drafted_after_refusal: int = 0
    failure_codes: Counter = field(default_factory=Counter)

    def ok(self) -> bool:
        return (self.stuck == 0 and self.lost == 0 and self.drafted_twice == 0
                and self.drafted_after_refusal == 0 and self.called_twice <= self.interrupted)

    ROW = ("scenario", "accepted", "completed", "failed", "stuck", "lost", "drafted twice",
           "called twice", "in flight at fault", "503s", "drafted after 503")

    def row(self) -> tuple:
        return (self.scenario, self.accepted, self.completed, self.failed, self.stuck, self.lost,
                self.drafted_twice, self.called_twice, self.interrupted, self.refused,
                self.drafted_after_refusal)


class World:
    """One scenario's services (own namespace) on the run's servers."""

    def __init__(self, rabbit: OwnRabbit, redis: OwnRedis, log_dir: Path, llm_delay_s: float):
        self.rabbit, self.redis = rabbit, redis
        self.ns = "chaos" + uuid.uuid4().hex[:8]
        self.log_dir = log_dir / self.ns
        self.llm_delay_s = llm_delay_s
        self.procs: list[Process] = []
        self.gateway_proc: Process | None = None
        self.llm: Process | None = None
        self.jobs: dict[str, str] = {}  # job id -> opportunity id (accepted)
        self.refused: list[str] = []  # opportunity ids of POSTs answered 503
        self.counts_http: httpx.AsyncClient | None = None

    def env(self, amqp_url: str | None = None, **extra) -> dict[str, str]:
        return clean_env({
            "AMQP_URL": amqp_url or self.rabbit.url, "REDIS_URL": self.redis.url,
            "BUS_NAMESPACE": self.ns, "REDIS_NAMESPACE": self.ns, "API_KEYS": API_KEY,
            "JWT_SECRET": "chaos-" + self.ns, "LOG_JSON": True, "LOG_LEVEL": "INFO",
            "BUS_RETRY_BASE_DELAY_S": 0.2, "BUS_RETRY_MAX_DELAY_S": 1,
            "BUS_ONCE_LEASE_S": 3, **extra,
        })

    async def start_llm(self) -> None:
        port = free_port()
        self.llm = start("slow-llm", [str(SLOW_LLM)], log_dir=self.log_dir, port=port,
                         env=clean_env({"PORT": port, "SLOW_LLM_DELAY_S": self.llm_delay_s}))
        self.procs.append(self.llm)
        await wait_http_ok(self.llm, "/healthz")

    async def start_gateway(self, amqp_url: str | None = None) -> Process:
        proc = start_service("gateway", "beacon_gateway.main", log_dir=self.log_dir,
                             env=self.env(amqp_url))
        self.procs.append(proc)
        self.gateway_proc = proc
        await wait_http_ok(proc)
        return proc

    async def start_worker(self, name: str, concurrency: int = 4) -> Process:
        assert self.llm is not None
        proc = start_service(name, "beacon_report_writer.main", log_dir=self.log_dir,
                             env=self.env(OPENAI_BASE_URL=f"{self.llm.url}/v1",
                                          OPENAI_MODEL="chaos-model", LLM_MAX_RETRIES=0,
                                          LLM_TIMEOUT_S=60, WORKER_CONCURRENCY=concurrency))
        self.procs.append(proc)
        await wait_http_ok(proc, "/healthz")
        return proc

    def client(self, timeout: float = 10.0) -> httpx.AsyncClient:
        assert self.gateway_proc is not None
        return httpx.AsyncClient(base_url=self.gateway_proc.url, timeout=timeout,
                                 headers={"X-API-Key": API_KEY, "Session-Id": "chaos"})

    async def post(self, client: httpx.AsyncClient, opportunity: str) -> int:
        response = await client.post("/generate", json={**SECTION, "opportunity_id": opportunity})
        if response.status_code == 202:
            self.jobs[response.json()["data"]["job_id"]] = opportunity
        elif response.status_code == 503:
            self.refused.append(opportunity)
        return response.status_code

    async def llm_state(self) -> dict:
        assert self.llm is not None
        async with httpx.AsyncClient(base_url=self.llm.url, timeout=5) as client:
            return (await client.get("/requests")).json()

    async def in_flight(self) -> int:
        state = await self.llm_state()
        return state["received"] - state["answered"]

    async def create_directly(self, opportunity: str) -> Envelope:
        """A job as the gateway stores it, and its request, for publishing by hand."""
        store = RedisJobStore(self.redis.url, namespace=self.ns)
        job_id = str(uuid.uuid4())
        owner = "static:0"  # the gateway's owner id of the first key in API_KEYS
        params = {"session_id": "chaos", **SECTION, "opportunity_id": opportunity}
        await store.create(JobRecord(job_id=job_id, kind=JobKind.GENERATE, owner=owner,
                                     params=params))
        await store.close()
        self.jobs[job_id] = opportunity
        command = GenerateSection(job_id=job_id, owner=owner, session_id="chaos",
                                  request=GenerateRequest(**SECTION, opportunity_id=opportunity))
        return Envelope.wrap(command, correlation_id=job_id)

    async def publisher(self) -> RabbitBus:
        bus = RabbitBus(self.rabbit.url, namespace=self.ns, declare=COMMAND_QUEUES)
        await bus.start()
        return bus

    async def settle(self, scenario: str, deadline_s: float) -> Counts:
        """Poll every accepted job until all are terminal or the deadline passes."""
        counts = Counts(scenario, accepted=len(self.jobs), refused=len(self.refused))
        statuses: dict[str, dict | None] = {}
        deadline = time.monotonic() + deadline_s
        async with self.client() as client:
            while True:
                for job_id in self.jobs:
                    if statuses.get(job_id) and statuses[job_id]["status"] in ("ready", "error"):
                        continue
                    try:
                        response = await client.get(f"/status/{job_id}")
                    except httpx.TransportError:
                        continue
                    statuses[job_id] = response.json() if response.status_code == 200 else None
                done = all(s and s["status"] in ("ready", "error") for s in statuses.values())
                if (done and len(statuses) == len(self.jobs)) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        for job_id in self.jobs:
            status = statuses.get(job_id)
            if status is None:
                counts.lost += 1
            elif status["status"] == "ready":
                counts.completed += 1
            elif status["status"] == "error":
                counts.failed += 1
                counts.failure_codes[status["data"]["error"]["error_code"]] += 1
            else:
                counts.stuck += 1
        # Let calls under way finish before counting them (a dead worker's call too: the
        # model server answers it into a closed connection).
        async def settled() -> bool:
            return await self.in_flight() == 0

        await _until(settled, timeout=self.llm_delay_s + 30)
        calls = Counter(m.group(1) for user in (await self.llm_state())["users"]
                        if (m := OPPORTUNITY.search(user)))
        drafts = Counter(record.get("job_id") for proc in self.procs
                         if proc.name.startswith("worker") for record in proc.logs("report.drafted"))
        refused = {record["job_id"] for proc in self.procs if proc.name == "gateway"
                   for record in proc.logs("job.publish_failed")}
        counts.called_twice = sum(1 for opp in self.jobs.values() if calls[opp] > 1)
        counts.drafted_twice = sum(1 for job_id in self.jobs if drafts[job_id] > 1)
        counts.drafted_after_refusal = sum(1 for job_id in refused if drafts[job_id] > 0)
        return counts

    async def close(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)


# -- scenarios ---------------------------------------------------------------------------


async def duplicate_publish(world: World, jobs: int = 5) -> Counts:
    """The same JobRequested (same event id) published three times."""
    await world.start_llm()
    await world.start_gateway()
    await world.start_worker("worker-1")
    await world.start_worker("worker-2")
    bus = await world.publisher()
    try:
        for n in range(jobs):
            envelope = await world.create_directly(f"dup-{n}")
            for _ in range(3):
                await bus.publish(envelope)
    finally:
        await bus.stop()
    return await world.settle("duplicate publish", 60)


async def rejected_request(world: World) -> Counts:
    """A request without `owner`, and a message of an unknown type on job.requested.generate."""
    await world.start_llm()
    await world.start_gateway()
    await world.start_worker("worker-1")
    no_owner = await world.create_directly("rejected-0")
    unknown = await world.create_directly("rejected-1")
    connection = await aio_pika.connect(world.rabbit.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{world.ns}.events")
        payload = dict(no_owner.payload)
        del payload["owner"]
        bodies = [no_owner.model_copy(update={"payload": payload}),
                  unknown.model_copy(update={"type": "JobRequestedV9"})]
        for body in bodies:
            await exchange.publish(aio_pika.Message(body.model_dump_json().encode()),
                                   "job.requested.generate")
    counts = await world.settle("rejected request", 30)
    return counts


async def worker_sigkill(world: World, jobs: int = 8) -> Counts:
    """A worker SIGKILLed with jobs in flight; another one starts after."""
    await world.start_llm()
    await world.start_gateway()
    worker = await world.start_worker("worker-1")
    async with world.client() as client:
        for n in range(jobs):
            await world.post(client, f"kill-{n}")

    async def calls_under_way() -> bool:
        return await world.in_flight() >= 2

    await _until(calls_under_way, 30)
    interrupted = await world.in_flight()
    kill(worker)
    await world.start_worker("worker-2")
    counts = await world.settle("worker SIGKILL", 90)
    counts.interrupted = interrupted
    return counts


async def lost_confirm(world: World, jobs: int = 3) -> Counts:
    """The gateway's publishes reach the broker but their confirms do not come back in time
    (its connection frozen past BUS_PUBLISH_TIMEOUT_S): the POST answers 503. The frozen
    bytes then flow: the requests arrive after the client was told they failed."""
    proxy = TcpProxy(("127.0.0.1", world.rabbit.port))
    await proxy.start()
    try:
        await world.start_llm()
        await world.start_gateway(amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
        await world.start_worker("worker-1")
        async with world.client(timeout=30) as client:
            await world.post(client, "confirmed-0")  # an ordinary job first
            proxy.freeze()
            results = await asyncio.gather(*(world.post(client, f"unconfirmed-{n}")
                                             for n in range(jobs)))
            proxy.thaw()
        assert all(code == 503 for code in results), results
        counts = await world.settle("lost confirm", 60)
    finally:
        await proxy.cut()
    return counts


async def redis_down(world: World, outage_s: float = 15.0, jobs: int = 14) -> Counts:
    """Redis stopped for `outage_s` right after jobs were accepted, then started again
    (AOF: nothing it had acknowledged is lost)."""
    await world.start_llm()
    await world.start_gateway()
    await world.start_worker("worker-1")
    async with world.client() as client:
        for n in range(jobs):
            await world.post(client, f"redis-{n}")
    world.redis.stop()
    await asyncio.sleep(outage_s)
    world.redis.start()
    return await world.settle(f"Redis down {outage_s:g} s", 120)


async def broker_restart(world: World, jobs: int = 10) -> Counts:
    """The broker restarted (graceful stop, start on the same data) with jobs in flight."""
    await world.start_llm()
    await world.start_gateway()
    await world.start_worker("worker-1")
    async with world.client() as client:
        for n in range(jobs):
            await world.post(client, f"restart-{n}")

    async def calls_under_way() -> bool:
        return await world.in_flight() >= 2

    await _until(calls_under_way, 30)
    # Handlers under way lose their connection: their messages are redelivered and run
    # again from the start, so their model calls may be made twice.
    interrupted = await world.in_flight()
    world.rabbit.restart()
    counts = await world.settle("broker restart", 180)
    counts.interrupted = interrupted
    return counts


async def _until(probe, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


FAST = {"duplicate": duplicate_publish, "rejected": rejected_request,
        "sigkill": worker_sigkill, "lost-confirm": lost_confirm}
LONG = {"redis-down": redis_down, "broker-restart": broker_restart}


def table(rows: list[Counts]) -> str:
    lines = [Counts.ROW] + [c.row() for c in rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(Counts.ROW))]
    out = [" | ".join(str(v).ljust(w) for v, w in zip(line, widths)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)
