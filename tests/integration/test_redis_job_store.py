"""RedisJobStore against the real Redis: restart survival, real TTLs, the compare-and-set
script, and failing fast when Redis is unreachable."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from beacon_contracts.events import JobError, JobKind
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.jobs.port import JobStoreUnavailable
from beacon_runtime.jobs.redis import RedisJobStore


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CLOSED_PORT_URL = "redis://127.0.0.1:6390/0"


@pytest.fixture
async def admin() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(admin: aioredis.Redis) -> AsyncIterator[str]:
    ns = f"test-redis-jobs-{uuid.uuid4().hex}"
    yield ns
    keys = [key async for key in admin.scan_iter(match=f"{ns}:*")]
    if keys:
        await admin.delete(*keys)


@pytest.fixture
async def make_store(namespace: str) -> AsyncIterator[Callable[..., RedisJobStore]]:
    stores: list[RedisJobStore] = []

    def make(**kwargs: object) -> RedisJobStore:
        kwargs.setdefault("ttl_s", 3600)
        store = RedisJobStore(REDIS_URL, namespace=namespace, **kwargs)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.close()


def new_job(fingerprint: str | None = "fp") -> JobRecord:
    return JobRecord(
        job_id=uuid.uuid4().hex,
        kind=JobKind.REFINE,
        owner="owner-x",
        fingerprint=fingerprint,
        params={"empty": {}, "list": [], "big": 10**20, "f": 2.0, "s": "ü"},
    )


async def test_job_survives_a_new_store_instance(make_store) -> None:
    first = make_store()
    job = new_job()
    await first.create(job)
    await first.transition(job.job_id, JobStatus.PROCESSING)
    processing = await first.get(job.job_id)
    await first.close()  # the "gateway" goes away with its connection pool

    second = make_store()
    assert await second.get(job.job_id) == processing
    # the fingerprint survived too
    assert await second.create(new_job()) == (processing, False)
    done, changed = await second.transition(
        job.job_id, JobStatus.FAILED, error=JobError(error_code="E", message="boom")
    )
    assert changed is True

    third = make_store()
    assert await third.get(job.job_id) == done
    assert (await third.create(new_job()))[1] is True


async def test_keys_layout_and_ttl(make_store, admin: aioredis.Redis, namespace: str) -> None:
    store = make_store(ttl_s=600)
    job = new_job(fingerprint="abc")
    await store.create(job)

    job_key, fp_key = f"{namespace}:job:{job.job_id}", f"{namespace}:jobfp:abc"
    assert JobRecord.model_validate_json(await admin.get(job_key)) == job
    assert await admin.get(fp_key) == job.job_id
    for key in (job_key, fp_key):
        assert 0 < await admin.ttl(key) <= 600

    # a transition refreshes the TTL of both keys
    await admin.expire(job_key, 5)
    await admin.expire(fp_key, 5)
    await store.transition(job.job_id, JobStatus.PROCESSING)
    for key in (job_key, fp_key):
        assert 500 < await admin.ttl(key) <= 600

    # a terminal transition frees the fingerprint and keeps the job for another ttl
    await admin.expire(job_key, 5)
    await store.transition(job.job_id, JobStatus.COMPLETED, result={"ok": True})
    assert await admin.exists(fp_key) == 0
    assert 500 < await admin.ttl(job_key) <= 600


async def test_keys_really_expire(make_store, admin: aioredis.Redis) -> None:
    """Expiry is Redis's own: both keys carry the store's TTL, and once Redis has expired
    them the job is gone and its fingerprint free. Redis's time is moved forward by the TTL
    (PEXPIRE by the remaining time, as the job-store suite does) instead of being waited for."""
    store = make_store(ttl_s=1)
    job = new_job(fingerprint="short-lived")
    await store.create(job)
    assert await store.get(job.job_id) == job

    keys = (store.job_key(job.job_id), store.fingerprint_key("short-lived"))
    for key in keys:
        remaining = await admin.pttl(key)
        assert 0 < remaining <= 1000
        await admin.pexpire(key, remaining - 1000)  # zero or less: Redis expires it now
    assert await admin.exists(*keys) == 0
    assert await store.get(job.job_id) is None
    assert (await store.create(new_job(fingerprint="short-lived")))[1] is True


async def test_terminal_transition_leaves_a_newer_fingerprint_holder_alone(
    make_store, admin: aioredis.Redis, namespace: str
) -> None:
    store = make_store()
    old = new_job(fingerprint="shared")
    await store.create(old)
    # simulate the fingerprint having moved on to another job (e.g. old one expired once)
    await admin.set(f"{namespace}:jobfp:shared", "someone-else")
    await store.transition(old.job_id, JobStatus.COMPLETED, result={})
    assert await admin.get(f"{namespace}:jobfp:shared") == "someone-else"


async def test_stale_compare_and_set_is_rejected(make_store) -> None:
    """The transition script writes only over the exact document it was computed from."""
    store = make_store()
    job = new_job(fingerprint=None)
    await store.create(job)
    stale = job.model_dump_json()
    completed, _ = await store.transition(job.job_id, JobStatus.COMPLETED, result={"w": 1})
    assert completed is not None

    forged = job.model_copy(update={"status": JobStatus.FAILED}).model_dump_json()
    reply = await store._cas_script(
        keys=[store.job_key(job.job_id)], args=[stale, forged, 3600, job.job_id, "1"]
    )
    assert int(reply[0]) == 0
    assert JobRecord.model_validate_json(reply[1]) == completed
    assert await store.get(job.job_id) == completed


async def test_corrupt_fingerprint_holder_does_not_block_creation(
    make_store, admin: aioredis.Redis, namespace: str
) -> None:
    store = make_store()
    await admin.set(f"{namespace}:jobfp:broken", "ghost")
    await admin.set(f"{namespace}:job:ghost", "not json")
    job = new_job(fingerprint="broken")
    assert await store.create(job) == (job, True)


async def test_closed_port_ping_false_and_operations_unavailable() -> None:
    store = RedisJobStore(CLOSED_PORT_URL, ttl_s=60, namespace="unused")
    try:
        assert await store.ping() is False
        with pytest.raises(JobStoreUnavailable) as raised:
            await store.get("x")
        assert isinstance(raised.value, DependencyUnavailable)  # the gateway's 503
        # Refused at once, not given up on after the operation timeout.
        assert isinstance(raised.value.__cause__, RedisConnectionError)
        with pytest.raises(JobStoreUnavailable):
            await store.create(new_job())
        with pytest.raises(JobStoreUnavailable):
            await store.transition("x", JobStatus.COMPLETED, result={})
    finally:
        await store.close()


async def test_unresponsive_server_times_out_instead_of_hanging() -> None:
    """A server that accepts connections and never answers: socket timeouts apply."""
    held: list[asyncio.StreamWriter] = []

    async def accept_and_ignore(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept_and_ignore, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisJobStore(
        f"redis://127.0.0.1:{port}/0",
        ttl_s=60,
        namespace="unused",
        socket_timeout_s=0.3,
        connect_timeout_s=0.3,
    )
    try:
        assert await store.ping() is False
        with pytest.raises(JobStoreUnavailable) as raised:
            await store.get("x")
        # The operation's own timeout ended it (the server never answers, so nothing else
        # could), and each operation tried one connection: no retry loop behind the timeout.
        assert isinstance(raised.value.__cause__, TimeoutError)
        assert len(held) == 2
    finally:
        await store.close()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_ping_true_against_live_redis(make_store) -> None:
    assert await make_store().ping() is True


async def test_a_burst_beyond_max_connections_waits_for_a_connection(make_store) -> None:
    """More concurrent operations than connections: all succeed, on at most
    max_connections connections (the rest wait, as with a blocking pool)."""
    store = make_store(max_connections=3)
    jobs = [new_job(fingerprint=None) for _ in range(60)]
    results = await asyncio.gather(*(store.create(job) for job in jobs))
    assert all(created for _, created in results)
    fetched = await asyncio.gather(*(store.get(job.job_id) for job in jobs))
    assert [job.job_id for job in fetched] == [job.job_id for job in jobs]
    pool = store._client.connection_pool
    assert 1 <= len(pool._available_connections) + len(pool._in_use_connections) <= 3


async def test_waiting_for_a_connection_is_bounded_by_the_operation_timeout(make_store) -> None:
    store = make_store(max_connections=1, socket_timeout_s=0.2, connect_timeout_s=0.1)
    job = new_job(fingerprint=None)
    await store.create(job)
    await store._slots.acquire()  # the only connection is busy for as long as this test likes
    try:
        with pytest.raises(JobStoreUnavailable) as raised:
            await store.get(job.job_id)
        # The slot is never freed meanwhile: only the operation timeout can end the wait.
        assert isinstance(raised.value.__cause__, TimeoutError)
    finally:
        store._slots.release()
    assert (await store.get(job.job_id)).job_id == job.job_id


async def test_ping_waits_for_a_connection_when_all_are_busy(make_store) -> None:
    """Readiness must not flap under load: with every connection in use, a ping waits for
    one (like any operation) instead of failing with "Too many connections"."""
    store = make_store(max_connections=2)
    jobs = [new_job(fingerprint=None) for _ in range(40)]
    results = await asyncio.gather(
        *(store.create(job) for job in jobs), *(store.ping() for _ in range(10))
    )
    assert all(created for _, created in results[:40])
    assert results[40:] == [True] * 10
