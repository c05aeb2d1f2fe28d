"""`beacon-dlq` on the real RabbitMQ: list, show and replay a consumer's dead letters."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from importlib.metadata import entry_points

import aio_pika
import pytest

from beacon_contracts.events import Envelope, JobKind, JobStarted
from beacon_runtime.bus import dead_letters
from beacon_runtime.bus.port import Reject, RetryPolicy
from beacon_runtime.bus.rabbit import RabbitBus

pytestmark = pytest.mark.integration


async def dlq(amqp_url: str, namespace: str, *args: str) -> tuple[int, str, str]:
    """Run the CLI as an operator would, in its own process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "beacon_runtime.bus.cli", *args,
        "--amqp-url", amqp_url, "--namespace", namespace,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def eventually(probe, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def started(job_id: str) -> Envelope:
    return Envelope.wrap(JobStarted(job_id=job_id, kind=JobKind.GENERATE, worker="w"),
                         correlation_id=job_id)


def test_console_script_is_installed():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["beacon-dlq"] == "beacon_runtime.bus.cli:app"


async def test_list_show_and_replay_dead_letters(amqp_url, unique_name):
    healthy = False
    handled: list[str] = []

    async def handler(envelope: Envelope) -> None:
        if not healthy:
            raise Reject("the handler had a bug")
        handled.append(envelope.payload["job_id"])

    retry = RetryPolicy(max_attempts=2, base_delay_s=0.05)
    bus = RabbitBus(amqp_url, namespace=unique_name, retry=retry, stop_timeout_s=1)
    bus.subscribe("worker", ["job.started"], handler)
    await bus.start()
    try:
        sent = [started(f"j{i}") for i in range(3)]
        for envelope in sent:
            await bus.publish(envelope)

        async def all_dead() -> bool:
            return len(await bus.dead_letters("worker")) == 3

        await eventually(all_dead)

        code, out, _ = await dlq(amqp_url, unique_name, "list", "worker", "--json")
        assert code == 0
        rows = [json.loads(line) for line in out.splitlines()]
        assert [r["message_id"] for r in rows] == [str(e.event_id) for e in sent]
        assert {r["reason"] for r in rows} == {"rejected"}
        assert {r["type"] for r in rows} == {"JobStarted"}
        assert all("the handler had a bug" in r["error"] for r in rows)

        code, out, _ = await dlq(amqp_url, unique_name, "list", "worker")
        assert code == 0 and "3 dead letter(s)" in out

        code, out, _ = await dlq(amqp_url, unique_name, "show", "worker", str(sent[1].event_id))
        assert code == 0
        shown = json.loads(out)
        assert Envelope.model_validate(shown["envelope"]) == sent[1]
        assert shown["headers"]["x-beacon-consumer"] == "worker"

        code, _, err = await dlq(amqp_url, unique_name, "show", "worker", "no-such-id")
        assert code == 1 and "no dead letter" in err

        healthy = True  # the bug is fixed: replay one, then the rest
        code, out, _ = await dlq(amqp_url, unique_name, "replay", "worker", str(sent[1].event_id))
        assert code == 0 and "1 message(s) replayed" in out

        async def one_handled() -> bool:
            return handled == ["j1"]

        await eventually(one_handled)
        left = await bus.dead_letters("worker")
        assert left == [sent[0], sent[2]]  # order kept

        code, _, err = await dlq(amqp_url, unique_name, "replay", "worker")
        assert code == 2 and "--all" in err  # nothing selected is an error, not a no-op

        code, out, _ = await dlq(amqp_url, unique_name, "replay", "worker", "--all")
        assert code == 0 and "2 message(s) replayed" in out

        async def all_handled() -> bool:
            return sorted(handled) == ["j0", "j1", "j2"]

        await eventually(all_handled)
        assert await bus.dead_letters("worker") == []
        assert sorted(handled) == ["j0", "j1", "j2"]  # each once
    finally:
        await bus.stop()
        await bus.delete_topology()


async def test_replayed_message_is_a_fresh_first_attempt(amqp_url, unique_name):
    """A replay resets the attempt count (the handler gets every attempt again) and counts
    the replay in a header; unreadable dead letters can be listed too."""
    deliveries: list[str] = []

    async def broken(envelope: Envelope) -> None:
        deliveries.append(envelope.payload["job_id"])
        raise RuntimeError("still broken")

    retry = RetryPolicy(max_attempts=2, base_delay_s=0.05)
    bus = RabbitBus(amqp_url, namespace=unique_name, retry=retry, stop_timeout_s=1)
    bus.subscribe("worker", ["job.started"], broken)
    await bus.start()
    try:
        await bus.publish(started("j0"))
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(bus.exchange_name)
            await exchange.publish(aio_pika.Message(b"not json", message_id="raw-1"),
                                   "job.started")

        async def dead() -> bool:
            return len(await dead_letters.peek(amqp_url, bus.topology, "worker")) == 2

        await eventually(dead)
        code, out, _ = await dlq(amqp_url, unique_name, "list", "worker", "--json")
        rows = {r["message_id"]: r for r in map(json.loads, out.splitlines())}
        assert rows["raw-1"]["reason"] == "malformed"
        code, out, _ = await dlq(amqp_url, unique_name, "show", "worker", "raw-1")
        assert json.loads(out)["body"] == "not json"
        assert deliveries == ["j0"] * retry.max_attempts

        event_id = next(k for k in rows if k != "raw-1")
        code, _, _ = await dlq(amqp_url, unique_name, "replay", "worker", event_id)
        assert code == 0

        async def dead_again() -> bool:
            letters = await dead_letters.peek(amqp_url, bus.topology, "worker")
            return any(letter.message_id == event_id for letter in letters)

        await eventually(dead_again)
        assert deliveries == ["j0"] * (2 * retry.max_attempts)
        code, out, _ = await dlq(amqp_url, unique_name, "list", "worker", "--json")
        replayed = next(r for r in map(json.loads, out.splitlines()) if r["message_id"] == event_id)
        assert replayed["replays"] == 1 and replayed["attempts"] == retry.max_attempts
    finally:
        await bus.stop()
        await bus.delete_topology()
