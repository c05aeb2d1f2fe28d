"""The bus, measured: FastStream's public API vs aio-pika directly, and our adapter (not a test).

    uv run --group bench python bench/bus_bench.py [--messages 2000] [--rounds 3] [--before REF] [--no-callgrind]

Four implementations move the same message (a JobRequested envelope, ~350 bytes of JSON,
persistent, mandatory, with a traceparent header and the same AMQP properties) through the
same topology (a topic exchange and a durable quorum queue, as the bus declares them):

* ``faststream``: FastStream's public API only: ``RabbitBroker.publish`` on a channel with
  publisher confirms; a typed subscriber (``envelope: Envelope``, FastStream decodes and
  validates) with ``AckPolicy.MANUAL`` that acks after the handler.
* ``aio-pika``: aio-pika directly: ``exchange.publish`` on a confirm channel; ``queue.consume``
  with a callback that validates the envelope and acks after the handler.
* ``adapter``: ``beacon_runtime.bus.rabbit.RabbitBus`` of the working tree (publish, and a
  subscription whose handler does nothing), i.e. everything the bus adds (trace context,
  retry bookkeeping, log context).
* ``adapter@REF``: the same file at git ``REF`` (``--before``), for a before/after ratio.

Measured per implementation, rounds interleaved (A B C D A B C D ...) and the median kept,
because this 2-core machine is shared and noisy:

* confirmed publishes per second, one at a time and 16 in flight (the gateway publishes
  from concurrent requests);
* consumed-and-acked messages per second from a queue holding ``--messages``;
* publish-to-handler latency (p50, p99), one message at a time, consumer running;
* with callgrind (``apt-get install -y valgrind``), CPU instructions per confirmed publish
  (16 in flight) and per consumed message (validate + ack), counted in a child process between
  two ``callgrind_control`` marks: deterministic to well under 1 %, so it ranks small
  differences that wall-clock numbers on this machine cannot.

Uses the local RabbitMQ (``--amqp-url``); every run declares its own namespace and deletes it.
Writes bench/results/bus.md.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import importlib.util
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika

from beacon_contracts.commands import GenerateSection
from beacon_contracts.events import Envelope
from beacon_contracts.report_api import GenerateRequest
from beacon_contracts.routing import routing_key

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ADAPTER_PATH = "libs/runtime/src/beacon_runtime/bus/rabbit.py"
CONSUMER = "bench"
PATTERN = "job.requested.*"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# The bus's consumer queue arguments (a quorum queue with a delivery limit and a DLX).
QUEUE_ARGS = {"x-queue-type": "quorum", "x-delivery-limit": 10, "x-dead-letter-exchange": ""}


def envelope(i: int) -> Envelope:
    job = GenerateSection(
        job_id=f"bench-{i}", owner="owner-0123456789abcdef", session_id="s-1",
        request=GenerateRequest(type="Technical_scope", customer_id=f"c-{i}",
                                opportunity_id="o-1", section_title="Technology Stack"),
    )
    return Envelope.wrap(job, correlation_id=job.job_id)


def queue_args(ns: str) -> dict[str, Any]:
    return {**QUEUE_ARGS, "x-dead-letter-routing-key": f"{ns}.{CONSUMER}.dlq"}


# -- implementations -------------------------------------------------------------------------
# Each: open_publisher(), publish(i), open_consumer(on_handled), close(). The topology is
# declared beforehand by setup_topology(), so opening a consumer declares nothing new.


class AioPika:
    name = "aio-pika"

    def __init__(self, url: str, ns: str) -> None:
        self.url, self.ns = url, ns
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def _connect(self) -> aio_pika.abc.AbstractRobustConnection:
        if self.connection is None:
            self.connection = await aio_pika.connect_robust(self.url)
        return self.connection

    async def open_publisher(self) -> None:
        connection = await self._connect()
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await channel.declare_exchange(
            f"{self.ns}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def publish(self, i: int) -> None:
        env = envelope(i)
        message = aio_pika.Message(
            env.model_dump_json().encode(),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
            message_id=str(env.event_id),
            correlation_id=env.correlation_id,
            type=env.type,
            timestamp=env.occurred_at,
            headers={"traceparent": TRACEPARENT},
        )
        await self.exchange.publish(message, routing_key(env), mandatory=True, timeout=10)

    async def open_consumer(self, on_handled: Callable[[Envelope], None]) -> None:
        connection = await self._connect()
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=16)
        queue = await channel.declare_queue(
            f"{self.ns}.{CONSUMER}", durable=True, arguments=queue_args(self.ns)
        )

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            on_handled(Envelope.model_validate_json(message.body))
            await message.ack()

        await queue.consume(on_message)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None


class FastStreamPublic:
    name = "faststream"

    def __init__(self, url: str, ns: str) -> None:
        from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange

        self.url, self.ns = url, ns
        self.exchange = RabbitExchange(f"{ns}.events", type=ExchangeType.TOPIC, durable=True)
        self.broker = RabbitBroker(
            url, default_channel=Channel(publisher_confirms=True, on_return_raises=True),
            logger=None,
        )

    async def open_publisher(self) -> None:
        await self.broker.connect()

    async def publish(self, i: int) -> None:
        env = envelope(i)
        await self.broker.publish(
            env.model_dump_json().encode(),
            exchange=self.exchange,
            routing_key=routing_key(env),
            mandatory=True,
            persist=True,
            timeout=10,
            content_type="application/json",
            message_id=str(env.event_id),
            correlation_id=env.correlation_id,
            message_type=env.type,
            timestamp=env.occurred_at,
            headers={"traceparent": TRACEPARENT},
        )

    async def open_consumer(self, on_handled: Callable[[Envelope], None]) -> None:
        from faststream.middlewares import AckPolicy
        from faststream.rabbit import Channel, QueueType, RabbitQueue
        from faststream.rabbit.annotations import RabbitMessage

        queue = RabbitQueue(
            f"{self.ns}.{CONSUMER}", QueueType.QUORUM, routing_key=PATTERN,
            arguments={k: v for k, v in queue_args(self.ns).items() if k != "x-queue-type"},
        )
        subscriber = self.broker.subscriber(
            queue, self.exchange, channel=Channel(prefetch_count=16),
            ack_policy=AckPolicy.MANUAL, no_reply=True,
        )

        @subscriber
        async def handle(body: Envelope, message: RabbitMessage) -> None:
            on_handled(body)
            await message.ack()

        await self.broker.start()

    async def close(self) -> None:
        await self.broker.stop()


class Adapter:
    """The bus port as services use it: publish(envelope), subscribe(handler)."""

    def __init__(self, url: str, ns: str, module: Any, name: str) -> None:
        self.url, self.ns, self.module, self.name = url, ns, module, name
        self.buses: list[Any] = []

    def _bus(self) -> Any:
        bus = self.module.RabbitBus(self.url, namespace=self.ns, declare={CONSUMER: [PATTERN]})
        self.buses.append(bus)
        return bus

    async def open_publisher(self) -> None:
        self.publisher = self._bus()
        await self.publisher.start()

    async def publish(self, i: int) -> None:
        await self.publisher.publish(envelope(i))

    async def open_consumer(self, on_handled: Callable[[Envelope], None]) -> None:
        bus = self._bus()

        async def handler(env: Envelope) -> None:
            on_handled(env)

        bus.subscribe(CONSUMER, [PATTERN], handler, concurrency=16)
        await bus.start()

    async def close(self) -> None:
        for bus in self.buses:
            await bus.stop()
        self.buses.clear()


def load_adapter(ref: str | None) -> Any:
    """The adapter module of the working tree, or its file at git `ref`."""
    if ref is None:
        from beacon_runtime.bus import rabbit

        return rabbit
    source = subprocess.run(
        ["git", "show", f"{ref}:{ADAPTER_PATH}"], cwd=REPO, check=True, capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="bus-bench-")) / f"rabbit_{ref}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"rabbit_{ref}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make(impl: str, url: str, ns: str) -> Any:
    if impl == "aio-pika":
        return AioPika(url, ns)
    if impl == "faststream":
        return FastStreamPublic(url, ns)
    if impl == "adapter":
        return Adapter(url, ns, load_adapter(None), impl)
    if impl.startswith("adapter@"):
        return Adapter(url, ns, load_adapter(impl.split("@", 1)[1]), impl)
    raise ValueError(impl)


# -- topology --------------------------------------------------------------------------------


async def setup_topology(url: str, ns: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{ns}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        await channel.declare_queue(f"{ns}.{CONSUMER}.dlq", durable=True)
        queue = await channel.declare_queue(
            f"{ns}.{CONSUMER}", durable=True, arguments=queue_args(ns)
        )
        await queue.bind(exchange, PATTERN)


async def delete_topology(url: str, ns: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in (f"{ns}.{CONSUMER}", f"{ns}.{CONSUMER}.dlq"):
            await channel.queue_delete(name)
        await channel.exchange_delete(f"{ns}.events")


async def queue_depth(url: str, ns: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{ns}.{CONSUMER}", passive=True)
        return queue.declaration_result.message_count or 0


# -- workloads -------------------------------------------------------------------------------


async def publish_many(impl: Any, count: int, in_flight: int, start: int = 0) -> float:
    """Publish `count` messages with `in_flight` awaiting their confirms; returns seconds."""
    numbers = iter(range(start, start + count))

    async def worker() -> None:
        for i in numbers:
            await impl.publish(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - t0


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()
        self.arrived: dict[str, float] = {}

    def __call__(self, env: Envelope) -> None:
        self.count += 1
        self.arrived[env.payload["job_id"]] = time.perf_counter()
        if self.count >= self.target:
            self.done.set()

    async def until(self, target: int, timeout: float = 600) -> None:
        self.target = target
        if self.count < target:
            self.done.clear()
            await asyncio.wait_for(self.done.wait(), timeout)


async def one_round(impl_name: str, url: str, messages: int, latency_samples: int) -> dict:
    ns = f"bench-bus-{uuid.uuid4().hex[:8]}"
    await setup_topology(url, ns)
    result: dict[str, float] = {}
    try:
        impl = make(impl_name, url, ns)
        await impl.open_publisher()
        await publish_many(impl, 50, 1, start=10_000_000)  # warm-up
        result["publish_seq"] = messages / 4 / await publish_many(impl, messages // 4, 1)
        result["publish_16"] = messages / await publish_many(impl, messages, 16)
        await impl.close()
        total = 50 + messages // 4 + messages
        assert await queue_depth(url, ns) == total

        impl = make(impl_name, url, ns)
        counter = Counter()
        t0 = time.perf_counter()
        await impl.open_consumer(counter)
        await counter.until(total)
        result["consume"] = total / (time.perf_counter() - t0)

        await impl.open_publisher()
        latencies = []
        for i in range(latency_samples):
            t0 = time.perf_counter()
            await impl.publish(20_000_000 + i)
            await counter.until(total + i + 1)
            latencies.append(counter.arrived[f"bench-{20_000_000 + i}"] - t0)
        latencies.sort()
        result["latency_p50_ms"] = 1000 * latencies[len(latencies) // 2]
        result["latency_p99_ms"] = 1000 * latencies[int(len(latencies) * 0.99) - 1]
        await impl.close()
    finally:
        await delete_topology(url, ns)
    return result


# -- callgrind child -------------------------------------------------------------------------


async def child(impl_name: str, url: str, messages: int) -> None:
    """Run under callgrind: the parent zeroes and dumps the counters around each segment."""
    ns = f"bench-bus-{uuid.uuid4().hex[:8]}"
    await setup_topology(url, ns)
    loop = asyncio.get_running_loop()

    async def mark(word: str) -> None:
        print(word, flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)

    try:
        impl = make(impl_name, url, ns)
        await impl.open_publisher()
        await publish_many(impl, 100, 16, start=10_000_000)  # warm-up: imports, caches
        await mark("ZERO publish")
        await publish_many(impl, messages, 16)
        await mark("DUMP publish")
        await impl.close()
        # A consumer started and warmed on 100 messages, the rest held back by a gate, would
        # be cleaner; a consumer start is ~1 % of `messages` deliveries and is included.
        counter = Counter()
        impl = make(impl_name, url, ns)
        await mark("ZERO consume")
        await impl.open_consumer(counter)
        await counter.until(messages + 100)
        await mark("DUMP consume")
        await impl.close()
    finally:
        await delete_topology(url, ns)
    print("END", flush=True)


def instructions(impl_name: str, url: str, messages: int, log_dir: Path) -> dict[str, float]:
    out = log_dir / f"{impl_name.replace('@', '-')}.%p.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
         __file__, "--child", impl_name, "--amqp-url", url, "--messages", str(messages)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin and proc.stdout
    result: dict[str, float] = {}
    pattern = str(out).replace("%p", str(proc.pid))
    for line in proc.stdout:
        word, _, segment = line.strip().partition(" ")
        if word == "END":
            break
        if word not in ("ZERO", "DUMP"):
            continue
        subprocess.run(["callgrind_control", "--zero" if word == "ZERO" else "--dump",
                        str(proc.pid)], check=True, capture_output=True)
        if word == "DUMP":
            time.sleep(1)  # the dump is written by the child's own thread
            dumps = sorted(glob.glob(f"{pattern}.*"), key=os.path.getmtime)
            total = _totals(Path(dumps[-1]))
            result[segment] = total / (messages + (100 if segment == "consume" else 0))
            print(f"  {impl_name:20} {segment:8} {result[segment] / 1e3:8.1f} k instructions/message",
                  flush=True)
        proc.stdin.write("\n")
        proc.stdin.flush()
    proc.wait(timeout=120)
    return result


def _totals(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


# -- report ----------------------------------------------------------------------------------


def git_state() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    return head + ("+dirty" if dirty else "")


def lines_of(impl: str) -> str:
    if impl == "adapter":
        return str(len((REPO / ADAPTER_PATH).read_text().splitlines()))
    if impl.startswith("adapter@"):
        source = subprocess.run(["git", "show", f"{impl.split('@', 1)[1]}:{ADAPTER_PATH}"],
                                cwd=REPO, capture_output=True, text=True, check=True).stdout
        return str(len(source.splitlines()))
    return "-"


def report(args, command: str, wall: dict[str, dict[str, float]],
           instr: dict[str, dict[str, float]]) -> str:
    lines = [
        "# Bus: FastStream's public API vs aio-pika, and the adapter",
        "",
        f"Command (from the repo root): `{command}`",
        "",
        (f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {git_state()}; "
         f"{args.messages} messages per throughput measurement, {args.latency} latency samples, "
         f"median of {args.rounds} interleaved rounds. RabbitMQ on loopback, one quorum queue."),
        "",
        "| implementation | publish/s (1 in flight) | publish/s (16 in flight) | consumed+acked/s "
        "| publish→handler p50 ms | p99 ms | k instr/publish | k instr/consumed | adapter lines |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for impl, w in wall.items():
        i = instr.get(impl, {})
        lines.append(
            f"| {impl} | {w['publish_seq']:.0f} | {w['publish_16']:.0f} | {w['consume']:.0f} "
            f"| {w['latency_p50_ms']:.2f} | {w['latency_p99_ms']:.2f} "
            f"| {i['publish'] / 1e3:.1f} | {i['consume'] / 1e3:.1f} | {lines_of(impl)} |"
            if i else
            f"| {impl} | {w['publish_seq']:.0f} | {w['publish_16']:.0f} | {w['consume']:.0f} "
            f"| {w['latency_p50_ms']:.2f} | {w['latency_p99_ms']:.2f} | - | - | {lines_of(impl)} |"
        )
    if "faststream" in instr and "aio-pika" in instr:
        f, a = instr["faststream"], instr["aio-pika"]
        lines += ["", (f"aio-pika / FastStream instructions: publish {a['publish'] / f['publish']:.2f}x, "
                       f"consume {a['consume'] / f['consume']:.2f}x.")]
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--amqp-url", default=os.environ.get(
        "TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=300, help="latency samples per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--impl", action="append", help="default: faststream aio-pika adapter "
                        "and adapter@BEFORE when --before is given")
    parser.add_argument("--before", help="git ref of the adapter to compare against")
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "bus.md")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    if args.child:
        await child(args.child, args.amqp_url, args.messages)
        return
    impls = args.impl or ["faststream", "aio-pika", "adapter"] + (
        [f"adapter@{args.before}"] if args.before else [])
    command = " ".join(["uv run --group bench python bench/bus_bench.py", shlex.join(sys.argv[1:])]).strip()
    rounds: dict[str, list[dict]] = {impl: [] for impl in impls}
    for n in range(args.rounds):
        for impl in impls:
            r = await one_round(impl, args.amqp_url, args.messages, args.latency)
            rounds[impl].append(r)
            print(f"round {n + 1} {impl:20} " + " ".join(f"{k}={v:.2f}" for k, v in r.items()),
                  flush=True)
    wall = {impl: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            for impl, rs in rounds.items()}
    instr: dict[str, dict[str, float]] = {}
    if not args.no_callgrind:
        log_dir = Path(tempfile.mkdtemp(prefix="bus-bench-callgrind-"))
        for impl in impls:
            instr[impl] = instructions(impl, args.amqp_url, args.messages // 2, log_dir)
    text = report(args, command, wall, instr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print("\n" + text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
