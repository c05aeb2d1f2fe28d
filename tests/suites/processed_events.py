"""One contract for every processed-events ledger (bus/once.py): the in-memory twin and
Redis. Time moves by `harness.advance`: an injected clock for the twin; for Redis the
remaining TTL of every key in the test's namespace is lowered, so Redis itself expires."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from beacon_runtime.bus.once import Claim, InMemoryProcessedEvents, ProcessedEvents

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class MemoryHarness:
    def __init__(self) -> None:
        self.clock = Clock()
        self.ledger = InMemoryProcessedEvents(clock=self.clock)

    def peer(self) -> ProcessedEvents:
        return self.ledger  # one process: one ledger

    async def advance(self, seconds: float) -> None:
        self.clock.now += seconds

    async def aclose(self) -> None:
        return None


class RedisHarness:
    def __init__(self) -> None:
        import redis.asyncio as aioredis

        self.namespace = f"test-once-{uuid.uuid4().hex[:12]}"
        self.admin = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        self.peers: list[ProcessedEvents] = []
        self.ledger = self.peer()

    def peer(self) -> ProcessedEvents:
        """Another replica's ledger over the same Redis keys."""
        from beacon_runtime.bus.once_redis import RedisProcessedEvents

        ledger = RedisProcessedEvents(REDIS_URL, namespace=self.namespace)
        self.peers.append(ledger)
        return ledger

    async def advance(self, seconds: float) -> None:
        async for key in self.admin.scan_iter(match=f"{self.namespace}:*"):
            pttl = await self.admin.pttl(key)
            if pttl >= 0:
                await self.admin.pexpire(key, pttl - int(seconds * 1000))

    async def aclose(self) -> None:
        for ledger in self.peers:
            await ledger.close()
        keys = [key async for key in self.admin.scan_iter(match=f"{self.namespace}:*")]
        if keys:
            await self.admin.delete(*keys)
        await self.admin.aclose()


@pytest.fixture
async def harness(backend: str) -> AsyncIterator[MemoryHarness | RedisHarness]:
    h = MemoryHarness() if backend == "memory" else RedisHarness()
    try:
        yield h
    finally:
        await h.aclose()


async def test_first_claim_acquires_and_a_second_token_is_busy(harness):
    ledger, other = harness.ledger, harness.peer()
    assert await ledger.claim("c:e1", "t1", 10) is Claim.ACQUIRED
    assert await other.claim("c:e1", "t2", 10) is Claim.BUSY
    assert await ledger.claim("c:e1", "t1", 10) is Claim.ACQUIRED  # same token: renewed
    assert await other.claim("c:e2", "t2", 10) is Claim.ACQUIRED  # keys are independent


async def test_finished_key_is_done_for_every_token_until_its_ttl(harness):
    ledger, other = harness.ledger, harness.peer()
    await ledger.claim("c:e1", "t1", 10)
    await ledger.finish("c:e1", "t1", 100)
    assert await other.claim("c:e1", "t2", 10) is Claim.DONE
    await harness.advance(99)
    assert await other.claim("c:e1", "t2", 10) is Claim.DONE
    await harness.advance(2)
    assert await other.claim("c:e1", "t2", 10) is Claim.ACQUIRED


async def test_a_lease_nobody_renews_frees_the_key(harness):
    ledger, other = harness.ledger, harness.peer()
    await ledger.claim("c:e1", "dead-worker", 10)
    await harness.advance(9)
    assert await other.claim("c:e1", "t2", 10) is Claim.BUSY
    await harness.advance(2)
    assert await other.claim("c:e1", "t2", 10) is Claim.ACQUIRED


async def test_renewal_keeps_the_lease_only_for_its_holder(harness):
    ledger, other = harness.ledger, harness.peer()
    await ledger.claim("c:e1", "t1", 10)
    await harness.advance(8)
    assert await ledger.renew("c:e1", "t1", 10) is True
    assert await other.renew("c:e1", "t2", 10) is False
    await harness.advance(8)
    assert await other.claim("c:e1", "t2", 10) is Claim.BUSY


async def test_release_frees_only_the_holders_key(harness):
    ledger, other = harness.ledger, harness.peer()
    await ledger.claim("c:e1", "t1", 10)
    await other.release("c:e1", "t2")  # not its claim: nothing happens
    assert await other.claim("c:e1", "t2", 10) is Claim.BUSY
    await ledger.release("c:e1", "t1")
    assert await other.claim("c:e1", "t2", 10) is Claim.ACQUIRED


async def test_release_after_finish_keeps_it_done(harness):
    ledger = harness.ledger
    await ledger.claim("c:e1", "t1", 10)
    await ledger.finish("c:e1", "t1", 100)
    await ledger.release("c:e1", "t1")
    assert await ledger.claim("c:e1", "t1", 10) is Claim.DONE


async def test_cancellations_are_shared_and_expire(harness):
    ledger, other = harness.ledger, harness.peer()
    assert await other.is_cancelled("job-1") is False
    await ledger.cancel("job-1", 50)
    assert await other.is_cancelled("job-1") is True
    assert await other.is_cancelled("job-2") is False
    await harness.advance(51)
    assert await other.is_cancelled("job-1") is False
