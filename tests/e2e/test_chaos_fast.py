"""The fast fault scenarios of tests/chaos (duplicate publish, rejected request, worker
SIGKILL, lost confirm) on their own RabbitMQ node and Redis, services as processes. The
long outages (Redis down 15 s, broker restart) run with `make chaos`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chaos"))

from scenarios import FAST, World, table  # noqa: E402
from servers import OwnRabbit, OwnRedis  # noqa: E402


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    base = tmp_path_factory.mktemp("chaos")
    rabbit, redis = OwnRabbit(base / "rabbit"), OwnRedis(base / "redis")
    rabbit.start()
    redis.start()
    try:
        yield rabbit, redis, base
    finally:
        redis.stop()
        rabbit.stop()


async def run(name: str, servers):
    rabbit, redis, base = servers
    world = World(rabbit, redis, base / "logs", llm_delay_s=1.0)
    try:
        counts = await FAST[name](world)
    finally:
        await world.close()
    print(table([counts]))
    assert counts.stuck == 0 and counts.lost == 0, table([counts])
    assert counts.drafted_twice == 0, table([counts])
    return counts


async def test_duplicate_publish_is_drafted_once(servers):
    counts = await run("duplicate", servers)
    assert counts.completed == counts.accepted == 5
    assert counts.called_twice == 0


async def test_rejected_requests_fail_their_jobs_visibly(servers):
    counts = await run("rejected", servers)
    assert counts.failed == counts.accepted == 2
    assert counts.failure_codes == {"INVALID_INPUT": 2}


async def test_worker_sigkill_loses_nothing_and_repeats_only_interrupted_calls(servers):
    counts = await run("sigkill", servers)
    assert counts.completed == counts.accepted
    assert counts.interrupted >= 1
    assert counts.called_twice <= counts.interrupted


async def test_a_post_answered_503_is_never_drafted(servers):
    counts = await run("lost-confirm", servers)
    assert counts.refused == 3 and counts.drafted_after_refusal == 0
    assert counts.completed == counts.accepted == 1
