"""Makespan of a burst of report jobs against a model that is slow, not busy (not a test).

    uv run python bench/makespan_bench.py [--jobs 100] [--delay 2] [--runs 4x1,32x1,32x2]

A local OpenAI-compatible server (tests/e2e/slow_llm.py) sleeps `--delay` seconds per call,
the way a hosted model keeps a worker waiting without using its CPU. For each run
`<concurrency>x<replicas>`, a gateway and `replicas` report-writer processes start over this
machine's RabbitMQ and Redis with WORKER_CONCURRENCY=`concurrency` (the gateway reads the same
setting for its event consumers); `--jobs` POST /generate requests are sent at once and
the gateway's job store is read until every job is finished.

Makespan: first POST to the last job's final `updated_at` (the gateway's store). Ideal: the model's time
for the burst, `delay x ceil(jobs / (concurrency x replicas))`; the issue's target is within
1.5x of `delay x jobs / (concurrency x replicas)`. The first run, 4x1, is the old default:
the baseline in the same run. Each run has its own bus namespace and Redis prefix, deleted
afterwards. A few warm-up jobs run first, unmeasured. Each process's CPU time during the
burst is read from /proc, so CPU per job is known apart from this shared machine's load.
Writes bench/results/workers.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from conftest import delete_bus_topology, delete_redis_keys  # noqa: E402
from processes import clean_env, start, start_service, stop, wait_http_ok  # noqa: E402
from processes import free_port  # noqa: E402

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"
API_KEY = "bench-key-0123456789"
SLOW_LLM = REPO / "tests" / "e2e" / "slow_llm.py"
BODY = {"type": "Feasibility_report", "customer_id": "cust-bench", "opportunity_id": "opp-1",
        "section_title": "Executive Summary"}


async def burst(gateway_url: str, jobs: int, ns: str) -> tuple[float, float, int]:
    """Send `jobs` POST /generate at once and wait until the gateway has stored every job as
    finished. Returns the makespan (first POST to the last job's final `updated_at`, the
    gateway's own clock on this machine), the time until every POST was answered, and the
    number completed.

    Completion is read from the job store every 0.5 s, not by polling GET /status: a fast
    poll of every job would cost the gateway more CPU than the jobs do on this machine."""
    from beacon_runtime.jobs.redis import RedisJobStore

    limits = httpx.Limits(max_connections=jobs, max_keepalive_connections=jobs)
    store = RedisJobStore(REDIS_URL, ttl_s=3600, namespace=ns)
    async with httpx.AsyncClient(base_url=gateway_url, headers={"X-API-Key": API_KEY},
                                 timeout=30.0, limits=limits) as client:

        async def submit(i: int) -> str:
            response = await client.post("/generate", json=BODY,
                                         headers={"Session-Id": f"bench-session-{i}"})
            response.raise_for_status()
            return response.json()["data"]["job_id"]

        started = time.time()
        job_ids = await asyncio.gather(*(submit(i) for i in range(jobs)))
        submitted = time.time() - started
    try:
        while True:
            records = await asyncio.gather(*(store.get(j) for j in job_ids))
            if all(r is not None and r.status in ("completed", "failed") for r in records):
                break
            if time.time() - started > 600:
                raise TimeoutError("jobs unfinished after 600 s")
            await asyncio.sleep(0.5)
    finally:
        await store.close()
    last = max(r.updated_at.timestamp() for r in records)
    return last - started, submitted, sum(r.status == "completed" for r in records)


async def run(concurrency: int, replicas: int, jobs: int, llm_url: str, log_dir: Path) -> dict:
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    env = clean_env({
        "AMQP_URL": AMQP_URL, "REDIS_URL": REDIS_URL, "BUS_NAMESPACE": ns,
        "REDIS_NAMESPACE": ns, "API_KEYS": API_KEY, "JWT_SECRET": "bench-jwt-secret-" + ns,
        "LOG_LEVEL": "WARNING", "WORKER_CONCURRENCY": concurrency,
        "OPENAI_BASE_URL": llm_url, "OPENAI_MODEL": "slow", "LLM_TIMEOUT_S": 120,
    })
    procs = []
    try:
        gateway = start_service(f"gateway-{ns}", "beacon_gateway.main", env=env, log_dir=log_dir)
        procs.append(gateway)
        workers = [start_service(f"writer-{ns}-{i}", "beacon_report_writer.main", env=env,
                                 log_dir=log_dir) for i in range(replicas)]
        procs.extend(workers)
        for proc in procs:
            await wait_http_ok(proc)
        # Warm-up, not measured: a fresh process pays its first model call's imports and
        # connection, and the first graph run; a burst on a running service does not.
        await burst(gateway.url, 2 * replicas, ns)
        before = {p.name: cpu_seconds(p.pid) for p in procs}
        makespan, submitted, completed = await burst(gateway.url, jobs, ns)
        cpu = {p.name: cpu_seconds(p.pid) - before[p.name] for p in procs}
    finally:
        for proc in reversed(procs):
            stop(proc)
        await delete_bus_topology(AMQP_URL, ns, ["gateway", "gateway-frames", "report-writer"])
        await delete_redis_keys(REDIS_URL, ns)
    return {"concurrency": concurrency, "replicas": replicas, "makespan": makespan,
            "submitted": submitted, "completed": completed, "gateway_cpu": cpu[gateway.name],
            "workers_cpu": sum(cpu[w.name] for w in workers)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--runs", default="4x1,32x1,32x2")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "workers.md")
    args = parser.parse_args()
    runs = [tuple(int(n) for n in spec.split("x")) for spec in args.runs.split(",")]

    load = os.getloadavg()[0]
    log_dir = Path(tempfile.mkdtemp(prefix="makespan-bench-"))
    port = free_port()
    llm = start("slow-llm", [str(SLOW_LLM)], log_dir=log_dir, port=port,
                env=clean_env({"PORT": port, "SLOW_LLM_DELAY_S": args.delay}))
    results = []
    try:
        await wait_http_ok(llm, "/healthz")
        for concurrency, replicas in runs:
            result = await run(concurrency, replicas, args.jobs, f"{llm.url}/v1", log_dir)
            results.append(result)
            print(result, flush=True)
    finally:
        stop(llm)

    lines = [
        "# Workers that wait well: makespan of a burst of report jobs",
        "",
        f"Command: `uv run python bench/makespan_bench.py --jobs {args.jobs} --delay {args.delay:g}"
        f" --runs {args.runs}` ({datetime.now(UTC):%Y-%m-%d}, 2 cores shared with other work,"
        f" loopback RabbitMQ and Redis; load average at the start {load:.1f}).",
        "",
        f"{args.jobs} POST /generate at once; the model (tests/e2e/slow_llm.py) sleeps"
        f" {args.delay:g} s per call, one call per job. Makespan: first POST to the last"
        " job's final `updated_at` in the gateway's job store. Target: within 1.5x of"
        " delay x jobs / (concurrency x replicas). 4x1 is the old default (the baseline).",
        "",
        "| concurrency x replicas | completed | all POSTs answered s | makespan s "
        "| after the last POST s "
        "| ideal s (delay x rounds) | target s (1.5 x delay x jobs / slots) | makespan / target "
        "| vs 4x1 | CPU ms per job: gateway, workers |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = results[0]["makespan"]
    for r in results:
        slots = r["concurrency"] * r["replicas"]
        ideal = args.delay * math.ceil(args.jobs / slots)
        target = 1.5 * args.delay * args.jobs / slots
        lines.append(
            f"| {r['concurrency']}x{r['replicas']} | {r['completed']}/{args.jobs} "
            f"| {r['submitted']:.2f} | {r['makespan']:.2f} "
            f"| {r['makespan'] - r['submitted']:.2f} | {ideal:.2f} | {target:.2f} "
            f"| {r['makespan'] / target:.2f} | {base / r['makespan']:.1f}x "
            f"| {1000 * r['gateway_cpu'] / args.jobs:.0f}, {1000 * r['workers_cpu'] / args.jobs:.0f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
