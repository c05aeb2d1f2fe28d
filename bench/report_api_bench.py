"""Report API benchmark (not a test): throughput of POST /generate and GET /status/{id} on
loopback, our gateway vs. a minimal FastAPI baseline, plus submit-to-completed latency.

    uv run python bench/report_api_bench.py [--duration 12] [--connections 64] [--threads 2]

Needs the local Redis and RabbitMQ (REDIS_URL / AMQP_URL, defaults 127.0.0.1) and wrk
(`apt-get install -y wrk`). One run does, each server alone on the machine in turn:

1. Throughput with wrk (Lua scripts bench/post.lua and bench/status.lua: every POST has a
   different customer_id, so each creates a new job and the in-flight dedup path is not
   what is measured; status reads pick random ids among pre-created jobs), after a short
   warm-up, against
   a. the gateway in distributed mode (`python -m beacon_gateway.main`, real Redis and
      RabbitMQ, JSON logs at INFO to a file) with NO report-writer running; the
      report-writer's durable quorum queue exists (declared beforehand), so every
      JobRequested is persisted there, like the baseline's message;
   b. bench/baseline_app.py: pydantic body, one Redis SET (24 h TTL), one confirmed
      persistent publish to a quorum queue (aio-pika); status is one Redis GET; served the
      same way as the gateway (asyncio.run(uvicorn.Server(...).serve()), 1 worker);
   c. the same baseline on uvloop, the like-for-like one: the gateway runs on uvloop.
2. Submit-to-completed latency with the offline drafter: gateway + report-writer processes,
   an asyncio client submitting N jobs at a fixed concurrency and polling every 20 ms;
   reported both as the client saw it and from the job records' own timestamps
   (created_at -> updated_at of the completed transition, read from Redis).

Prints a markdown table and writes it to bench/results/report_api.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis.asyncio as aioredis

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from processes import Process, clean_env, start, start_service, stop, wait_http_ok

API_KEY = "bench-key-0123456789"
BODY = {
    "type": "Feasibility_report",
    "customer_id": "cust-bench",
    "opportunity_id": "opp-bench",
    "section_title": "Executive Summary",
}
NOTES_MARKER = "<!-- notes: kept across re-runs -->"
RETRY = {"BUS_MAX_ATTEMPTS": 3, "BUS_RETRY_BASE_DELAY_S": 0.5, "BUS_RETRY_MAX_DELAY_S": 2.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="wrk runs per server+endpoint")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds of quiet after each wrk run (queues purged first)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unrecorded wrk")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=200, help="jobs for the latency part")
    parser.add_argument("--concurrency", type=int, default=8, help="jobs in flight at once")
    parser.add_argument("--status-ids", type=int, default=200, help="jobs status reads pick from")
    parser.add_argument("--no-uvloop-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "report_api.md")
    add_server_args(parser)
    return parser.parse_args()


def add_server_args(parser: argparse.ArgumentParser) -> None:
    """Where the local Redis and RabbitMQ are (REDIS_URL / AMQP_URL, else 127.0.0.1)."""
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--amqp-url", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    )


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), then rerun.")
    return wrk


# -- processes ------------------------------------------------------------------------


class Run:
    """Processes and namespaces of this run, all removed at the end."""

    def __init__(self, args: argparse.Namespace, log_dir: Path) -> None:
        self.args = args
        self.log_dir = log_dir
        self.procs: list[Process] = []
        self.namespaces: list[str] = []

    def namespace(self) -> str:
        ns = "bench" + uuid.uuid4().hex[:10]
        self.namespaces.append(ns)
        return ns

    def env(self, ns: str, **extra) -> dict[str, str]:
        return clean_env(
            {
                "AMQP_URL": self.args.amqp_url,
                "REDIS_URL": self.args.redis_url,
                "BUS_NAMESPACE": ns,
                "REDIS_NAMESPACE": ns,
                "API_KEYS": API_KEY,
                "JWT_SECRET": "bench-" + uuid.uuid4().hex,
                "LOG_JSON": True,
                "LOG_LEVEL": "INFO",
                **RETRY,
                **extra,
            }
        )

    async def service(self, name: str, module: str, env: dict[str, str]) -> Process:
        proc = start_service(name, module, env=env, log_dir=self.log_dir)
        self.procs.append(proc)
        await wait_http_ok(proc, "/readyz", timeout=60)
        return proc

    async def baseline(self, ns: str, uvloop: bool) -> Process:
        from processes import free_port

        port = free_port()
        env = clean_env(
            {
                "AMQP_URL": self.args.amqp_url,
                "REDIS_URL": self.args.redis_url,
                "BASELINE_NS": ns,
                "PORT": port,
                "BASELINE_UVLOOP": "1" if uvloop else "0",
            }
        )
        name = "baseline-uvloop" if uvloop else "baseline"
        proc = start(name, [str(BENCH / "baseline_app.py")], env=env, log_dir=self.log_dir, port=port)
        self.procs.append(proc)
        await wait_http_ok(proc, "/readyz", timeout=60)
        return proc

    def stop(self, proc: Process) -> None:
        stop(proc, timeout=15)

    async def cleanup(self) -> None:
        for proc in self.procs:
            stop(proc, timeout=15)
        consumers = {"gateway", "report-writer", "gateway-frames"}
        for proc in self.procs:
            for record in proc.logs("bus.started"):
                consumers.update(record.get("consumers") or [])
        for ns in self.namespaces:
            await delete_topology(self.args.amqp_url, ns, sorted(consumers))
            await delete_keys(self.args.redis_url, ns)


async def declare_worker_queue(amqp_url: str, ns: str) -> None:
    """Declare the report-writer's queue and bindings (as a worker would) and leave it
    without a consumer, so JobRequested messages are stored, not dropped as unroutable."""
    bus = _bus(amqp_url, ns)
    from beacon_contracts import routing

    async def never(_envelope) -> None:  # pragma: no cover - stopped before anything arrives
        raise RuntimeError("bench queue is not consumed")

    bus.subscribe("report-writer", [routing.job_requested("generate")], never)
    await bus.start()
    await bus.stop()


def _bus(amqp_url: str, ns: str):
    from beacon_runtime.adapters import build_bus
    from beacon_runtime.settings import ServiceSettings

    return build_bus(
        ServiceSettings(
            amqp_url=amqp_url,
            bus_namespace=ns,
            bus_max_attempts=RETRY["BUS_MAX_ATTEMPTS"],
            bus_retry_base_delay_s=RETRY["BUS_RETRY_BASE_DELAY_S"],
            bus_retry_max_delay_s=RETRY["BUS_RETRY_MAX_DELAY_S"],
        )
    )


async def delete_topology(amqp_url: str, ns: str, consumers: list[str]) -> None:
    import aio_pika

    bus = _bus(amqp_url, ns)

    async def never(_envelope) -> None:  # pragma: no cover
        raise RuntimeError

    for consumer in consumers:
        bus.subscribe(consumer, ["#"], never)
    await bus.delete_topology()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(f"{ns}.baseline")


async def delete_keys(redis_url: str, ns: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        batch = []
        async for key in client.scan_iter(match=f"{ns}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.delete(*batch)
                batch = []
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()


# -- throughput -----------------------------------------------------------------------


async def create_jobs(url: str, count: int) -> list[str]:
    """Jobs for status reads: distinct bodies, so `count` distinct job ids."""
    headers = {"X-API-Key": API_KEY, "Session-Id": "bench-status"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        ids = []
        for i in range(count):
            response = await client.post("/generate", json={**BODY, "customer_id": f"s-{i}"})
            response.raise_for_status()
            ids.append(response.json()["data"]["job_id"])
        probe = await client.get(f"/status/{ids[0]}")
        probe.raise_for_status()
    return ids


def wrk(args: argparse.Namespace, url: str, script: str, script_args: list[str], seconds: int) -> dict:
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency",
        "-s", str(BENCH / script), url, "--", *script_args,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in reversed(out.splitlines()) if line.startswith("{"))
    return json.loads(line)


ENDPOINTS = {
    # A fresh run id per wrk run: no POST repeats an earlier one (which would be deduplicated).
    "POST /generate": ("post.lua", lambda ids_file: [API_KEY, "/generate", uuid.uuid4().hex[:12]]),
    "GET /status/{id}": ("status.lua", lambda ids_file: [API_KEY, str(ids_file)]),
}


async def measure(
    args: argparse.Namespace, proc: Process, endpoint: str, ids_file: Path, seconds: int
) -> dict:
    script, script_args = ENDPOINTS[endpoint]
    result = await asyncio.to_thread(wrk, args, proc.url, script, script_args(ids_file), seconds)
    if seconds == args.duration:
        print(f"  {proc.name:16} {endpoint:17} {result['rps']:9.1f} req/s  "
              f"p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
              f"non-2xx {result['non_2xx']}  socket errors {result['socket_errors']}", flush=True)
    return result


class Settler:
    """Between two wrk runs: empty the queues the POSTs filled and wait a moment, so the
    next server measured does not share the machine with RabbitMQ still writing the last
    server's messages (that made the order of servers matter by up to 30 %)."""

    def __init__(self, amqp_url: str, queues: list[str], seconds: float) -> None:
        self.amqp_url, self.queues, self.seconds = amqp_url, queues, seconds

    async def __call__(self) -> None:
        import aio_pika

        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            for name in self.queues:
                queue = await channel.get_queue(name, ensure=False)
                await queue.purge()
        await asyncio.sleep(self.seconds)


def median_result(results: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms")
    merged = {key: statistics.median(r[key] for r in results) for key in keys}
    merged["non_2xx"] = sum(r["non_2xx"] for r in results)
    merged["socket_errors"] = sum(r["socket_errors"] for r in results)
    merged["rounds"] = [r["rps"] for r in results]
    return merged


# -- latency --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def submit_to_completed(
    args: argparse.Namespace, gateway: Process, ns: str
) -> dict[str, list[float]]:
    headers = {"X-API-Key": API_KEY, "Session-Id": "bench-latency"}
    semaphore = asyncio.Semaphore(args.concurrency)
    client_ms: list[float] = []
    job_ids: list[str] = []

    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=30) as client:

        async def one(i: int) -> None:
            async with semaphore:
                started = time.perf_counter()
                response = await client.post("/generate", json={**BODY, "customer_id": f"l-{i}"})
                response.raise_for_status()
                job_id = response.json()["data"]["job_id"]
                deadline = started + 60
                while time.perf_counter() < deadline:
                    status = (await client.get(f"/status/{job_id}")).json()
                    if status["status"] == "ready":
                        client_ms.append((time.perf_counter() - started) * 1000)
                        job_ids.append(job_id)
                        return
                    if status["status"] == "error":
                        raise RuntimeError(f"job {job_id} failed: {status}")
                    await asyncio.sleep(0.02)
                raise TimeoutError(f"job {job_id} not ready in 60 s")

        await asyncio.gather(*(one(i) for i in range(args.jobs)))

    redis = aioredis.Redis.from_url(args.redis_url, decode_responses=True)
    try:
        records = [json.loads(await redis.get(f"{ns}:job:{job_id}")) for job_id in job_ids]
    finally:
        await redis.aclose()
    server_ms = [
        (datetime.fromisoformat(r["updated_at"]) - datetime.fromisoformat(r["created_at"]))
        .total_seconds() * 1000
        for r in records
    ]
    return {"client": client_ms, "server": server_ms}


# -- report ---------------------------------------------------------------------------


def git_state() -> str:
    def git(*cmd: str) -> str:
        return subprocess.run(
            ["git", *cmd], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "libs", "services")
    return git("rev-parse", "--short", "HEAD") + (
        " with uncommitted changes under libs/ or services/" if dirty else " (clean)"
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU ({cpu}), {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def report(args, command: str, tp: dict[str, dict], latency: dict[str, list[float]]) -> str:
    ours = tp["gateway"]
    lines = [
        "# Report API benchmark",
        "",
        f"Command (from the repo root): `{command}`",
        "",
        (f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}; wrk "
        f"{args.threads} threads, {args.connections} connections, {args.duration} s per run, "
        f"{args.rounds} rounds per server and endpoint, servers alternating within each round "
        f"(after a {args.warmup} s warm-up each; after every run the filled queues are purged "
        f"and the machine left quiet for {args.settle:g} s); figures are medians over rounds. wrk, the "
        "server, Redis and RabbitMQ share the machine. Commit: " + git_state() + "."),
        "",
        ("Ours: `python -m beacon_gateway.main`, distributed (Redis + RabbitMQ), JSON logs at "
        "INFO to a file, **no report-writer running** (its quorum queue exists, so every "
        "JobRequested is stored). Baseline: `bench/baseline_app.py` (pydantic body, Redis SET "
        "with 24 h TTL + confirmed persistent aio-pika publish to a quorum queue; status = "
        "Redis GET), same uvicorn setup, 1 worker."),
        "",
        ("Both baselines are listed: the gateway runs on uvloop (beacon_runtime.serve), so "
         "the baseline on uvloop is the like-for-like one; the plain-asyncio baseline is kept "
         "for comparison with earlier runs."),
        "",
        ("| endpoint | ours req/s | ours p50 / p99 ms | baseline req/s | baseline p50 / p99 ms "
         "| ours / baseline |"),
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    baselines = [name for name in ("baseline-uvloop", "baseline") if name in tp]
    for endpoint in ours:
        o = ours[endpoint]
        for name in baselines:
            b = tp[name][endpoint]
            ratio = o["rps"] / b["rps"] if b["rps"] else float("nan")
            flag = "" if ratio >= 0.8 else " (below 0.8)"
            label = "uvloop" if name == "baseline-uvloop" else "asyncio"
            lines.append(
                f"| `{endpoint}` vs {label} | {o['rps']:.0f} | {o['p50_ms']:.1f} / "
                f"{o['p99_ms']:.1f} | {b['rps']:.0f} | {b['p50_ms']:.1f} / {b['p99_ms']:.1f} "
                f"| {ratio:.2f}x{flag} |"
            )
    lines += ["", "Requests/s per round (ours vs " + " vs ".join(baselines) + "): " + "; ".join(
        f"`{e}` " + ", ".join(
            " vs ".join(f"{x:.0f}" for x in row)
            for row in zip(ours[e]["rounds"], *(tp[n][e]["rounds"] for n in baselines), strict=True)
        )
        for e in ours
    ) + "."]
    errors = {
        name: sum(r["non_2xx"] + r["socket_errors"] for r in results.values())
        for name, results in tp.items()
    }
    lines += ["", f"Non-2xx responses + socket errors per server: {errors}."]
    c, s = latency["client"], latency["server"]
    lines += [
        "",
        (f"Submit-to-completed, offline drafter, gateway + 1 report-writer process, "
         f"{len(c)} jobs, {args.concurrency} in flight, status polled every 20 ms:"),
        "",
        "| measured | p50 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: |",
        (f"| client: POST sent -> status ready seen | {percentile(c, 50):.1f} "
         f"| {percentile(c, 99):.1f} | {max(c):.1f} |"),
        ("| server: job created_at -> completed updated_at (Redis record) "
         f"| {percentile(s, 50):.1f} | {percentile(s, 99):.1f} | {max(s):.1f} |"),
        "",
    ]
    return "\n".join(lines)


async def main() -> None:
    args = parse_args()
    require_wrk()
    command = " ".join(["uv run python bench/report_api_bench.py", shlex.join(sys.argv[1:])]).strip()
    log_dir = Path(tempfile.mkdtemp(prefix="report-api-bench-"))
    print(f"logs: {log_dir}", flush=True)
    run = Run(args, log_dir)
    tp: dict[str, dict] = {}
    try:
        # Every server up at once (idle ones cost next to nothing), then each endpoint is
        # measured on each server in turn, round after round, so a change in the machine's
        # load during the run hits all of them alike; the table shows per-round medians.
        ns = run.namespace()
        await declare_worker_queue(args.amqp_url, ns)
        servers = [await run.service("gateway", "beacon_gateway.main", run.env(ns))]
        queues = [f"{ns}.report-writer"]
        for uvloop in (False,) if args.no_uvloop_baseline else (False, True):
            baseline_ns = run.namespace()
            servers.append(await run.baseline(baseline_ns, uvloop=uvloop))
            queues.append(f"{baseline_ns}.baseline")
        settle = Settler(args.amqp_url, queues, args.settle)
        ids_files = {}
        for server in servers:
            ids_files[server.name] = log_dir / f"{server.name}-ids.txt"
            ids = await create_jobs(server.url, args.status_ids)
            ids_files[server.name].write_text("\n".join(ids) + "\n")
        raw: dict[str, dict[str, list[dict]]] = {s.name: {e: [] for e in ENDPOINTS} for s in servers}
        for endpoint in ENDPOINTS:
            for server in servers:
                if args.warmup:
                    await measure(args, server, endpoint, ids_files[server.name], args.warmup)
                    await settle()
            for round_no in range(1, args.rounds + 1):
                print(f"{endpoint}, round {round_no}/{args.rounds}", flush=True)
                for server in servers:
                    raw[server.name][endpoint].append(
                        await measure(args, server, endpoint, ids_files[server.name], args.duration)
                    )
                    await settle()
        tp = {name: {e: median_result(r) for e, r in by_endpoint.items()}
              for name, by_endpoint in raw.items()}
        for server in servers:
            run.stop(server)
        # Every measured POST must have created a job and published it, as the baseline's
        # do; a deduplicated one skips the publish and would flatter the gateway.
        deduplicated = len(servers[0].logs("job.deduplicated"))
        if deduplicated:
            sys.exit(f"invalid run: the gateway deduplicated {deduplicated} POSTs")

        # 2. submit-to-completed latency
        ns = run.namespace()
        gateway = await run.service("gateway-latency", "beacon_gateway.main", run.env(ns))
        await run.service("report-writer", "beacon_report_writer.main", run.env(ns))
        latency = await submit_to_completed(args, gateway, ns)
    finally:
        await run.cleanup()

    text = report(args, command, tp, latency)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Hand-written notes (profiles, analysis) after the marker survive a re-run.
    notes = ""
    if args.out.exists() and NOTES_MARKER in (previous := args.out.read_text()):
        notes = previous[previous.index(NOTES_MARKER):]
    args.out.write_text(text + ("\n" + notes if notes else ""))
    print("\n" + text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
