"""One contract for both frame logs: order by seq, duplicates dropped, resume after a seq."""

from __future__ import annotations

import asyncio

import pytest

from beacon_gateway.frames import Frame, InMemoryFrameLog, RedisFrameLog


@pytest.fixture
async def log(backend, request, unique_name):
    if backend == "memory":
        yield InMemoryFrameLog()
        return
    redis_url = request.getfixturevalue("redis_url")
    frame_log = RedisFrameLog(redis_url, namespace=unique_name)
    yield frame_log
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    async for key in client.scan_iter(match=f"{unique_name}:*"):
        await client.delete(key)
    await client.aclose()
    await frame_log.close()


def frame(seq: int, event: str = "token") -> Frame:
    return Frame(seq, event, {"content": f"t{seq}"})


async def collect(log, query_id="q", **kwargs):
    return [f.seq async for f in log.follow(query_id, block_s=0.2, **kwargs)]


async def test_out_of_order_and_duplicate_frames_come_out_once_in_order(log):
    for seq in (1, 0, 2, 1, 0):
        await log.append("q", frame(seq))
    await log.append("q", frame(3, "done"))
    assert await collect(log) == [0, 1, 2, 3]


async def test_resume_after_a_seq(log):
    for seq in range(4):
        await log.append("q", frame(seq, "done" if seq == 3 else "node"))
    assert await collect(log, after_seq=1) == [2, 3]


async def test_follower_waits_for_frames_appended_later(log):
    async def produce():
        for seq in range(3):
            await asyncio.sleep(0.05)
            await log.append("q", frame(seq, "done" if seq == 2 else "token"))

    producer = asyncio.create_task(produce())
    assert await collect(log) == [0, 1, 2]
    await producer


async def test_a_gap_that_never_fills_times_out(log):
    """Frame 0 never comes: once the reader's clock has passed the idle timeout without
    progress, it gives up. The clock moves 60 s at each reading, not with real time."""
    await log.append("q", frame(1))
    now = iter(range(0, 10**6, 60))
    with pytest.raises(TimeoutError):
        await collect(log, idle_timeout_s=90, clock=lambda: next(now))


async def test_queries_are_separate(log):
    await log.append("a", frame(0, "done"))
    await log.append("b", Frame(0, "error", {"code": "X"}))
    assert [f.event async for f in log.follow("b", block_s=0.2)] == ["error"]


async def test_attachment_is_recorded(log):
    assert await log.last_attached("q") is None
    await log.mark_attached("q")
    assert await log.last_attached("q") > 0
