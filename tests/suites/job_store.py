"""One behavioural contract for every JobStore adapter: the in-memory twin and Redis.

The Redis runs talk to the real server at REDIS_URL (default redis://127.0.0.1:6379/0), each
test in its own key namespace, deleted afterwards.

Time: each backend's harness can `advance(seconds)`. The memory store gets an injectable
clock; for Redis, advancing lowers the remaining TTL of every key in the test's namespace by
that amount (PEXPIRE with a non-positive value deletes the key), so expiry itself is still
done by Redis.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from beacon_contracts.events import JobError, JobKind
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.jobs.port import JobStore

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TTL_S = 100


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """Builds stores of one backend that share state, and moves their time forward."""

    async def make(self, ttl_s: int = TTL_S) -> JobStore:
        raise NotImplementedError

    async def peers(self, n: int, ttl_s: int = TTL_S) -> list[JobStore]:
        """n stores over the same state, as n gateway processes would see it."""
        raise NotImplementedError

    async def advance(self, seconds: float) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


class MemoryHarness(Harness):
    def __init__(self) -> None:
        self.clock = FakeClock()
        self._store: InMemoryJobStore | None = None

    async def make(self, ttl_s: int = TTL_S) -> JobStore:
        self._store = InMemoryJobStore(ttl_s=ttl_s, clock=self.clock)
        return self._store

    async def peers(self, n: int, ttl_s: int = TTL_S) -> list[JobStore]:
        store = await self.make(ttl_s)
        return [store] * n

    async def advance(self, seconds: float) -> None:
        self.clock.now += seconds


class RedisHarness(Harness):
    def __init__(self) -> None:
        import redis.asyncio as aioredis

        self.namespace = f"test-jobs-{uuid.uuid4().hex}"
        self.clock = FakeClock()  # heartbeats; expiry stays Redis's own (advance below)
        self.admin = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        self._stores: list[JobStore] = []

    async def make(self, ttl_s: int = TTL_S) -> JobStore:
        from beacon_runtime.jobs.redis import RedisJobStore

        store = RedisJobStore(REDIS_URL, ttl_s=ttl_s, namespace=self.namespace, clock=self.clock)
        self._stores.append(store)
        return store

    async def peers(self, n: int, ttl_s: int = TTL_S) -> list[JobStore]:
        return [await self.make(ttl_s) for _ in range(n)]

    async def keys(self) -> list[str]:
        return [key async for key in self.admin.scan_iter(match=f"{self.namespace}:*")]

    async def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        for key in await self.keys():
            pttl = await self.admin.pttl(key)
            if pttl >= 0:
                await self.admin.pexpire(key, pttl - int(seconds * 1000))

    async def aclose(self) -> None:
        for store in self._stores:
            await store.close()
        keys = await self.keys()
        if keys:
            await self.admin.delete(*keys)
        await self.admin.aclose()


@pytest.fixture
async def harness(backend: str) -> AsyncIterator[Harness]:
    h: Harness = MemoryHarness() if backend == "memory" else RedisHarness()
    try:
        yield h
    finally:
        await h.aclose()


@pytest.fixture
async def store(harness: Harness) -> JobStore:
    return await harness.make()


def new_job(fingerprint: str | None = None, **overrides: Any) -> JobRecord:
    fields: dict[str, Any] = {
        "job_id": uuid.uuid4().hex,
        "kind": JobKind.GENERATE,
        "owner": "owner-1",
        "fingerprint": fingerprint,
        "params": {
            "type": "Technical_scope",
            "section_title": "Executive Summary",
            "nested": {"empty_obj": {}, "empty_list": [], "ints": [1, 2, 3]},
            "big": 2**63 + 7,
            "ratio": 0.1,
            "whole_float": 3.0,
            "flag": False,
            "nothing": None,
            "text": 'unicode ✓ "quoted" \\ back',
        },
    }
    fields.update(overrides)
    return JobRecord(**fields)


# --- create / get --------------------------------------------------------------------------


async def test_create_then_get_round_trips_exactly(store: JobStore) -> None:
    job = new_job(fingerprint="fp-roundtrip")
    stored, created = await store.create(job)
    assert created is True
    assert stored == job
    fetched = await store.get(job.job_id)
    assert fetched == job
    assert fetched is not None
    assert fetched.model_dump(mode="json") == job.model_dump(mode="json")
    assert type(fetched.params["whole_float"]) is float
    assert type(fetched.params["big"]) is int
    assert fetched.params["nested"]["empty_obj"] == {}
    assert fetched.params["nested"]["empty_list"] == []


async def test_job_without_fingerprint_round_trips(store: JobStore) -> None:
    job = new_job(fingerprint=None, params={})
    assert await store.create(job) == (job, True)
    assert await store.get(job.job_id) == job


async def test_unknown_job_is_none(store: JobStore) -> None:
    assert await store.get("no-such-job") is None


async def test_transition_of_unknown_job_is_ignored(store: JobStore) -> None:
    assert await store.transition("no-such-job", JobStatus.COMPLETED, result={}) == (None, False)


async def test_get_returns_a_copy(store: JobStore) -> None:
    job = new_job()
    await store.create(job)
    fetched = await store.get(job.job_id)
    assert fetched is not None
    fetched.params["mutated"] = True
    assert await store.get(job.job_id) == job


# --- monotonic transitions -----------------------------------------------------------------


async def test_transitions_move_forward(store: JobStore) -> None:
    job = new_job()
    await store.create(job)

    processing, changed = await store.transition(job.job_id, JobStatus.PROCESSING)
    assert changed is True
    assert processing is not None and processing.status is JobStatus.PROCESSING
    assert processing.updated_at >= job.updated_at
    assert processing.created_at == job.created_at
    assert processing.params == job.params

    result = {"generated_section_b64": "SGVsbG8=", "empty": {}, "list": [], "n": 1}
    completed, changed = await store.transition(job.job_id, JobStatus.COMPLETED, result=result)
    assert changed is True
    assert completed is not None
    assert completed.status is JobStatus.COMPLETED
    assert completed.result == result
    assert completed.error is None
    assert await store.get(job.job_id) == completed


async def test_pending_can_jump_straight_to_failed(store: JobStore) -> None:
    job = new_job()
    await store.create(job)
    error = JobError(error_code="LLM_TIMEOUT", message="model did not answer")
    failed, changed = await store.transition(job.job_id, JobStatus.FAILED, error=error)
    assert changed is True
    assert failed is not None and failed.status is JobStatus.FAILED
    assert failed.error == error
    assert failed.result is None
    assert await store.get(job.job_id) == failed


async def test_terminal_job_never_moves(store: JobStore) -> None:
    job = new_job()
    await store.create(job)
    await store.transition(job.job_id, JobStatus.PROCESSING)
    done, _ = await store.transition(job.job_id, JobStatus.COMPLETED, result={"v": "first"})

    back, changed = await store.transition(job.job_id, JobStatus.PROCESSING)
    assert (back, changed) == (done, False)

    failed, changed = await store.transition(
        job.job_id, JobStatus.FAILED, error=JobError(error_code="X", message="late")
    )
    assert (failed, changed) == (done, False)

    again, changed = await store.transition(job.job_id, JobStatus.COMPLETED, result={"v": "second"})
    assert changed is False
    assert again is not None and again.result == {"v": "first"}

    assert await store.get(job.job_id) == done


async def test_equal_and_lower_ranks_are_ignored_before_terminal(store: JobStore) -> None:
    job = new_job()
    await store.create(job)
    assert await store.transition(job.job_id, JobStatus.PENDING) == (job, False)
    processing, _ = await store.transition(job.job_id, JobStatus.PROCESSING)
    assert await store.transition(job.job_id, JobStatus.PROCESSING) == (processing, False)
    assert await store.transition(job.job_id, JobStatus.PENDING) == (processing, False)
    assert await store.get(job.job_id) == processing


# --- fingerprint dedup ---------------------------------------------------------------------


async def test_identical_request_in_flight_returns_existing_job(store: JobStore) -> None:
    first = new_job(fingerprint="fp-dedup")
    await store.create(first)

    duplicate = new_job(fingerprint="fp-dedup")
    existing, created = await store.create(duplicate)
    assert created is False
    assert existing == first
    assert await store.get(duplicate.job_id) is None

    # still deduplicated while processing
    processing, _ = await store.transition(first.job_id, JobStatus.PROCESSING)
    existing, created = await store.create(new_job(fingerprint="fp-dedup"))
    assert (existing, created) == (processing, False)


@pytest.mark.parametrize("terminal", [JobStatus.COMPLETED, JobStatus.FAILED])
async def test_new_job_allowed_once_the_first_is_terminal(
    store: JobStore, terminal: JobStatus
) -> None:
    first = new_job(fingerprint="fp-again")
    await store.create(first)
    await store.transition(first.job_id, terminal)

    second = new_job(fingerprint="fp-again")
    stored, created = await store.create(second)
    assert (stored, created) == (second, True)
    assert await store.get(second.job_id) == second
    # the first job is still readable
    first_now = await store.get(first.job_id)
    assert first_now is not None and first_now.status is terminal
    # and the new one now holds the fingerprint
    third, created = await store.create(new_job(fingerprint="fp-again"))
    assert (third, created) == (second, False)


async def test_different_fingerprints_do_not_collide(store: JobStore) -> None:
    a, b = new_job(fingerprint="fp-a"), new_job(fingerprint="fp-b")
    assert (await store.create(a))[1] is True
    assert (await store.create(b))[1] is True


async def test_jobs_without_fingerprint_are_never_deduplicated(store: JobStore) -> None:
    for _ in range(3):
        assert (await store.create(new_job(fingerprint=None)))[1] is True


# --- TTL -----------------------------------------------------------------------------------


async def test_job_expires_after_ttl(harness: Harness) -> None:
    store = await harness.make(ttl_s=TTL_S)
    job = new_job(fingerprint="fp-ttl")
    await store.create(job)

    await harness.advance(TTL_S - 10)
    assert await store.get(job.job_id) == job

    await harness.advance(11)
    assert await store.get(job.job_id) is None
    assert await store.transition(job.job_id, JobStatus.PROCESSING) == (None, False)
    # the fingerprint died with the job: an identical request creates a new one
    again = new_job(fingerprint="fp-ttl")
    assert await store.create(again) == (again, True)


async def test_each_transition_refreshes_the_ttl(harness: Harness) -> None:
    store = await harness.make(ttl_s=TTL_S)
    job = new_job(fingerprint="fp-refresh")
    await store.create(job)

    await harness.advance(TTL_S - 10)
    await store.transition(job.job_id, JobStatus.PROCESSING)
    await harness.advance(TTL_S - 10)  # 180 s after create, 90 s after the last change
    current = await store.get(job.job_id)
    assert current is not None and current.status is JobStatus.PROCESSING
    # the fingerprint's lifetime was refreshed too: still deduplicated
    assert (await store.create(new_job(fingerprint="fp-refresh")))[1] is False

    done, _ = await store.transition(job.job_id, JobStatus.COMPLETED, result={})
    await harness.advance(TTL_S - 10)
    assert await store.get(job.job_id) == done
    await harness.advance(11)
    assert await store.get(job.job_id) is None


async def test_ignored_transition_keeps_the_job(harness: Harness) -> None:
    store = await harness.make(ttl_s=TTL_S)
    job = new_job()
    await store.create(job)
    done, _ = await store.transition(job.job_id, JobStatus.COMPLETED, result={"a": 1})
    await store.transition(job.job_id, JobStatus.FAILED)
    assert await store.get(job.job_id) == done


# --- concurrency ---------------------------------------------------------------------------


async def warm_up(stores: list[JobStore], per_store: int) -> None:
    """Open connections first, so the racing calls below really overlap on the server
    instead of queueing behind connection set-up."""
    await asyncio.gather(*(s.get("warm-up") for s in stores for _ in range(per_store)))


async def test_concurrent_identical_creates_yield_exactly_one_job(harness: Harness) -> None:
    stores = await harness.peers(5)
    await warm_up(stores, 10)
    candidates = [new_job(fingerprint="fp-race") for _ in range(50)]
    outcomes = await asyncio.gather(
        *(stores[i % len(stores)].create(job) for i, job in enumerate(candidates))
    )
    created = [job for job, was_created in outcomes if was_created]
    assert len(created) == 1
    winner = created[0]
    # every caller was handed the same job
    assert all(job == winner for job, _ in outcomes)
    # and only that job exists
    present = [await stores[0].get(job.job_id) for job in candidates]
    assert [job for job in present if job is not None] == [winner]


async def test_concurrent_terminal_transitions_apply_exactly_once(harness: Harness) -> None:
    stores = await harness.peers(4)
    await warm_up(stores, 5)
    job = new_job(fingerprint="fp-finish")
    await stores[0].create(job)
    await stores[0].transition(job.job_id, JobStatus.PROCESSING)

    async def finish(i: int) -> tuple[JobRecord | None, bool]:
        store = stores[i % len(stores)]
        if i % 2:
            return await store.transition(job.job_id, JobStatus.COMPLETED, result={"by": i})
        return await store.transition(
            job.job_id, JobStatus.FAILED, error=JobError(error_code="E", message=str(i))
        )

    outcomes = await asyncio.gather(*(finish(i) for i in range(20)))
    winners = [stored for stored, changed in outcomes if changed]
    assert len(winners) == 1
    winner = winners[0]
    assert winner is not None and winner.status.is_terminal
    assert all(stored == winner for stored, _ in outcomes)
    assert await stores[0].get(job.job_id) == winner
    if winner.status is JobStatus.COMPLETED:
        assert winner.error is None and winner.result is not None
    else:
        assert winner.result is None and winner.error is not None


async def test_concurrent_mixed_ranks_end_terminal(harness: Harness) -> None:
    """processing and completed racing from pending: completed always ends up stored."""
    stores = await harness.peers(4)
    await warm_up(stores, 3)
    for round_ in range(10):
        job = new_job(fingerprint=f"fp-mixed-{round_}")
        await stores[0].create(job)
        outcomes = await asyncio.gather(
            *(
                stores[i % len(stores)].transition(
                    job.job_id,
                    JobStatus.PROCESSING if i % 2 else JobStatus.COMPLETED,
                    result=None if i % 2 else {"i": i},
                )
                for i in range(10)
            )
        )
        final = await stores[0].get(job.job_id)
        assert final is not None and final.status is JobStatus.COMPLETED
        completions = [s for s, changed in outcomes if changed and s.status.is_terminal]
        assert completions == [final]
        assert sum(changed for _, changed in outcomes) <= 2


# -- heartbeats and stalled jobs (the gateway's watchdog) ----------------------------------


async def test_a_queued_job_is_never_stalled(harness: Harness) -> None:
    store = await harness.make()
    job = new_job()
    await store.create(job)
    await harness.advance(50)
    assert await store.stalled(idle_s=10) == []  # waiting in line is not a stall


async def test_a_started_job_without_heartbeat_for_long_is_stalled(harness: Harness) -> None:
    store = await harness.make()
    quiet, lively = new_job(), new_job()
    for job in (quiet, lively):
        await store.create(job)
        await store.transition(job.job_id, JobStatus.PROCESSING)
        await store.heartbeat(job.job_id)
    await harness.advance(8)
    await store.heartbeat(lively.job_id)
    await harness.advance(4)
    stalled = await store.stalled(idle_s=10)
    assert [job.job_id for job in stalled] == [quiet.job_id]
    assert stalled[0].status is JobStatus.PROCESSING


async def test_a_finished_job_is_never_stalled(harness: Harness) -> None:
    store = await harness.make()
    done, failed = new_job(), new_job()
    for job in (done, failed):
        await store.create(job)
        await store.heartbeat(job.job_id)
    await store.transition(done.job_id, JobStatus.COMPLETED, result={})
    await store.transition(failed.job_id, JobStatus.FAILED)
    await store.heartbeat(done.job_id)  # a late event of a finished job
    await harness.advance(20)
    assert await store.stalled(idle_s=10) == []


async def test_stalled_is_shared_by_every_replica(harness: Harness) -> None:
    first, second = await harness.peers(2)
    job = new_job()
    await first.create(job)
    await first.heartbeat(job.job_id)
    await harness.advance(20)
    assert [j.job_id for j in await second.stalled(idle_s=10)] == [job.job_id]
    await second.transition(job.job_id, JobStatus.FAILED)
    assert await first.stalled(idle_s=10) == []
