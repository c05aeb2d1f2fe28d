"""The bus contract suite's harness: `backend` (set by the lane's test file) picks the adapter."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import EventBus, RetryPolicy

AMQP_URL = (
    os.environ.get("AMQP_URL")
    or os.environ.get("TEST_AMQP_URL")
    or "amqp://guest:guest@127.0.0.1:5672/"
)
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.2, max_wait_delay_s=0.2)


@dataclass
class BusHarness:
    """Builds buses of one kind that share a broker (or, for memory, one process)."""

    kind: str
    namespace: str
    retry: RetryPolicy = FAST_RETRY
    created: list[EventBus] = field(default_factory=list)

    def new(self, retry: RetryPolicy | None = None, prefetch: int = 8) -> EventBus:
        retry = retry or self.retry
        if self.kind == "memory":
            bus: EventBus = InMemoryBus(retry=retry)
        else:
            from beacon_runtime.bus.rabbit import RabbitBus

            bus = RabbitBus(
                AMQP_URL,
                retry=retry,
                prefetch=prefetch,
                namespace=self.namespace,
                publish_timeout_s=5.0,
                stop_timeout_s=2.0,
            )
        self.created.append(bus)
        return bus

    async def publisher_for(self, bus: EventBus) -> EventBus:
        """A started bus that publishes where `bus` consumes. The in-memory twin only
        reaches its own subscribers, so it publishes through `bus` itself."""
        if self.kind == "memory":
            return bus
        publisher = self.new()
        await publisher.start()
        return publisher

    async def close(self) -> None:
        for bus in self.created:
            await bus.stop()
        if self.kind == "rabbit":
            for bus in self.created:
                await bus.delete_topology()  # type: ignore[attr-defined]


@pytest.fixture
async def harness(backend: str) -> AsyncIterator[BusHarness]:
    h = BusHarness(kind=backend, namespace=f"test-{uuid.uuid4().hex[:12]}")
    try:
        yield h
    finally:
        await h.close()
