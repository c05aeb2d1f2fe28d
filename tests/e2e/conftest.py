"""The e2e stack: services as OS processes over the real RabbitMQ and Redis of this machine.

Every test gets its own bus namespace (exchange `<ns>.events`, queues `<ns>.<consumer>...`)
and Redis prefix (`<ns>:...`), both deleted afterwards with every process it started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from frontend import ReportClient
from processes import (
    READY_TIMEOUT_S,
    Process,
    clean_env,
    free_port,
    start,
    start_service,
    stop,
    wait_http_ok,
)

# Retry settings given to every process, so teardown knows which delay queues exist.
BUS_MAX_ATTEMPTS = 3
BUS_RETRY_BASE_DELAY_S = 0.2
BUS_RETRY_MAX_DELAY_S = 1.0
CONSUMERS = ("gateway", "report-writer")
SLOW_LLM = Path(__file__).with_name("slow_llm.py")


@dataclass
class Stack:
    ns: str
    amqp_url: str
    redis_url: str
    log_dir: Path
    api_key: str = "e2e-key-0123456789"
    procs: list[Process] = field(default_factory=list)
    clients: list[ReportClient] = field(default_factory=list)

    def distributed_env(self, **extra: Any) -> dict[str, str]:
        return clean_env(
            {
                "AMQP_URL": self.amqp_url,
                "REDIS_URL": self.redis_url,
                "BUS_NAMESPACE": self.ns,
                "REDIS_NAMESPACE": self.ns,
                "API_KEYS": self.api_key,
                "JWT_SECRET": "e2e-jwt-secret-" + self.ns,
                "LOG_JSON": True,
                "LOG_LEVEL": "INFO",
                "BUS_MAX_ATTEMPTS": BUS_MAX_ATTEMPTS,
                "BUS_RETRY_BASE_DELAY_S": BUS_RETRY_BASE_DELAY_S,
                "BUS_RETRY_MAX_DELAY_S": BUS_RETRY_MAX_DELAY_S,
                # A killed worker's claim on its message frees this soon (bus/once.py).
                "BUS_ONCE_LEASE_S": 3,
                **extra,
            }
        )

    def _track(self, proc: Process) -> Process:
        self.procs.append(proc)
        return proc

    def gateway(self, name: str = "gateway", port: int | None = None, **env: Any) -> Process:
        return self._track(
            start_service(
                name, "beacon_gateway.main", env=self.distributed_env(**env),
                log_dir=self.log_dir, port=port,
            )
        )

    def worker(self, name: str = "worker", **env: Any) -> Process:
        return self._track(
            start_service(
                name, "beacon_report_writer.main", env=self.distributed_env(**env),
                log_dir=self.log_dir,
            )
        )

    def embedded(self, name: str = "embedded") -> Process:
        # No AMQP_URL/REDIS_URL/DATABASE_URL: every port gets its in-process twin.
        env = clean_env({"API_KEYS": self.api_key, "LOG_JSON": True})
        return self._track(
            start_service(name, "beacon_embedded.main", env=env, log_dir=self.log_dir)
        )

    def slow_llm(self, name: str = "slow-llm") -> Process:
        """The model of tests/e2e/slow_llm.py, holding every request until POST /release."""
        port = free_port()
        env = clean_env({"PORT": port, "SLOW_LLM_HOLD": 1})
        return self._track(
            start(name, [str(SLOW_LLM)], env=env, log_dir=self.log_dir, port=port)
        )

    async def ready(
        self, *procs: Process, path: str = "/readyz", timeout: float = READY_TIMEOUT_S
    ) -> None:
        for proc in procs:
            await wait_http_ok(proc, path, timeout=timeout)

    def client(self, proc: Process, session_id: str | None = None) -> ReportClient:
        client = ReportClient(proc.url, self.api_key, session_id or f"session-{self.ns}")
        self.clients.append(client)
        return client

    async def teardown(self) -> None:
        for client in self.clients:
            await client.aclose()
        for proc in reversed(self.procs):
            stop(proc, timeout=10.0)
        # Every consumer any process declared (its bus.started line lists them).
        consumers = set(CONSUMERS)
        for proc in self.procs:
            for record in proc.logs("bus.started", namespace=self.ns):
                consumers.update(record.get("consumers") or [])
        await delete_bus_topology(self.amqp_url, self.ns, sorted(consumers))
        await delete_redis_keys(self.redis_url, self.ns)


async def delete_bus_topology(amqp_url: str, ns: str, consumers: list[str]) -> None:
    from beacon_runtime.adapters import build_bus
    from beacon_runtime.settings import ServiceSettings

    bus = build_bus(
        ServiceSettings(
            amqp_url=amqp_url,
            bus_namespace=ns,
            bus_max_attempts=BUS_MAX_ATTEMPTS,
            bus_retry_base_delay_s=BUS_RETRY_BASE_DELAY_S,
            bus_retry_max_delay_s=BUS_RETRY_MAX_DELAY_S,
        )
    )

    async def never_called(_envelope) -> None:
        raise AssertionError("teardown bus never consumes")

    for consumer in consumers:
        bus.subscribe(consumer, ["#"], never_called)
    await bus.delete_topology()


async def delete_redis_keys(redis_url: str, ns: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{ns}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def stack(amqp_url, redis_url, unique_name, tmp_path) -> AsyncIterator[Stack]:
    stack = Stack(ns=unique_name, amqp_url=amqp_url, redis_url=redis_url, log_dir=tmp_path)
    try:
        yield stack
    finally:
        await stack.teardown()


@pytest.fixture
async def redis_client(redis_url) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
