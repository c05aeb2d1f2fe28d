"""CPU cost per request of the report API, counted in instructions (not a test).

    uv run python bench/report_api_instructions.py [--requests 300] [--concurrency 16]

Requests per second on this 2-vCPU machine move by 10-30 % between identical runs (see
bench/results/report_api.md), more than the differences worth measuring. The instructions
the server process executes per request do not: this runs each server under valgrind's
callgrind (`apt-get install -y valgrind`), sends a warm-up, zeroes the counters, sends
`--requests` POST /generate and then as many GET /status/{id} at a fixed concurrency, and
reads the totals. Two runs of the same commit agree to within about 0.2 %.

Servers: the gateway (`python -m beacon_gateway.main`, distributed mode on the local Redis
and RabbitMQ, JSON logs at INFO, the report-writer's queue declared but not consumed, as in
report_api_bench.py) and bench/baseline_app.py on uvloop (the like-for-like baseline).

What it does not count: the kernel's work (system calls; similar for both, measured with
/proc in report_api_bench.py's notes), Redis and RabbitMQ, and time lost to cache misses or
a busy machine. It ranks code changes; req/s stays the headline figure.

Writes bench/results/report_api_instructions.md.

`--tracing-cost` measures the instrumentation instead: the gateway as deployed without a
collector (trace ids made and propagated, no span recorded: telemetry.py's sampler) beside the
same gateway exporting every span over OTLP/HTTP to a local sink that answers 200 (the
exporter's batch thread is in the server process, so its work is counted). Prometheus metrics
have no switch and are on in both. Writes bench/results/telemetry_cost.md.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import http.server
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import report_api_bench as rb
from processes import Process, clean_env, free_port, stop, wait_http_ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ready-timeout", type=float, default=600,
                        help="seconds a server may take to start under valgrind (more on a busy machine)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/results/report_api_instructions.md "
                             "(telemetry_cost.md with --tracing-cost)")
    parser.add_argument("--tracing-cost", action="store_true",
                        help="gateway without a collector vs exporting every span (no baseline)")
    rb.add_server_args(parser)
    return parser.parse_args()


def start_under_callgrind(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Process:
    port = free_port()
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by processes.stop()
    popen = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={log_dir}/{name}.%p.out",
         sys.executable, *argv],
        env={**env, "PORT": str(port)}, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
    )
    return Process(name=name, popen=popen, log_path=log_path, port=port, _log_file=log_file)


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def instructions_in_last_dump(proc: Process, log_dir: Path) -> int:
    dumps = sorted(glob.glob(f"{log_dir}/{proc.name}.{proc.pid}.out.*"), key=os.path.getmtime)
    for line in Path(dumps[-1]).read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dumps[-1]}")


async def drive(client: httpx.AsyncClient, requests: list[tuple[str, str, dict | None]],
                concurrency: int) -> list[httpx.Response]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    responses: list[httpx.Response] = []

    async def worker() -> None:
        while not queue.empty():
            method, path, body = queue.get_nowait()
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            responses.append(response)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return responses


def posts(count: int) -> list[tuple[str, str, dict]]:
    run_id = uuid.uuid4().hex[:10]  # every body differs: each POST creates and publishes a job
    return [("POST", "/generate", {**rb.BODY, "customer_id": f"i-{run_id}-{i}"}) for i in range(count)]


async def measure(args: argparse.Namespace, proc: Process, log_dir: Path) -> dict[str, float]:
    """Instructions per request for each endpoint, counted between two callgrind marks."""
    headers = {"X-API-Key": rb.API_KEY, "Session-Id": "bench-instructions"}
    result: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=proc.url, headers=headers, timeout=120) as client:
        created = await drive(client, posts(args.warmup), args.concurrency)
        ids = [r.json()["data"]["job_id"] for r in created]
        await drive(client, [("GET", f"/status/{i}", None) for i in ids], args.concurrency)
        status_paths = [("GET", f"/status/{ids[n % len(ids)]}", None) for n in range(args.requests)]
        for endpoint, batch in (("POST /generate", posts(args.requests)),
                                ("GET /status/{id}", status_paths)):
            callgrind_control("--zero", str(proc.pid))
            await drive(client, batch, args.concurrency)
            callgrind_control("--dump", str(proc.pid))
            await asyncio.sleep(1)  # the dump is written by the server's own thread
            result[endpoint] = instructions_in_last_dump(proc, log_dir) / len(batch)
            print(f"  {proc.name:16} {endpoint:17} {result[endpoint] / 1e6:7.3f} M instructions/request",
                  flush=True)
    return result


class OtlpSink:
    """A collector stand-in: accepts OTLP/HTTP exports and counts them (no collector can be
    installed here). An empty 200 is a valid ExportTraceServiceResponse."""

    def __init__(self) -> None:
        sink = self
        self.exports = 0
        self.bytes = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.exports += 1
                sink.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def tracing_report(args, command: str, results: dict[str, dict[str, float]], sink: OtlpSink) -> str:
    off, on = results["gateway"], results["gateway-traced"]
    lines = [
        "# Report API: the cost of tracing, in instructions per request",
        "",
        f"Command (from the repo root): `{command}`",
        "",
        (f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {rb.git_state()}; "
         f"{args.requests} measured requests per endpoint at concurrency {args.concurrency} after "
         f"{args.warmup} warm-up ones, each server alone under callgrind (user-space "
         "instructions of the server process, all its threads). `off`: no "
         "OTEL_EXPORTER_OTLP_ENDPOINT, as deployed without a collector (ids propagated, spans "
         "not recorded). `on`: every span recorded and exported over OTLP/HTTP to a local sink "
         f"({sink.exports} exports, {sink.bytes / 1e6:.1f} MB received). Prometheus metrics are "
         "on in both (they have no switch)."),
        "",
        "| endpoint | off (M instr/req) | on (M instr/req) | on / off |",
        "| --- | ---: | ---: | ---: |",
    ]
    for endpoint in off:
        lines.append(f"| `{endpoint}` | {off[endpoint] / 1e6:.3f} | {on[endpoint] / 1e6:.3f} "
                     f"| {on[endpoint] / off[endpoint]:.2f}x |")
    return "\n".join(lines) + "\n"


def report(args, command: str, results: dict[str, dict[str, float]]) -> str:
    ours, base = results["gateway"], results["baseline-uvloop"]
    lines = [
        "# Report API: instructions per request",
        "",
        f"Command (from the repo root): `{command}`",
        "",
        (f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {rb.git_state()}; "
         f"{args.requests} measured requests per endpoint at concurrency {args.concurrency} after "
         f"{args.warmup} warm-up ones, each server alone under callgrind. User-space "
         "instructions of the server process only (see the script's docstring)."),
        "",
        "| endpoint | ours (M instr/req) | baseline on uvloop | baseline / ours |",
        "| --- | ---: | ---: | ---: |",
    ]
    for endpoint in ours:
        lines.append(f"| `{endpoint}` | {ours[endpoint] / 1e6:.3f} | {base[endpoint] / 1e6:.3f} "
                     f"| {base[endpoint] / ours[endpoint]:.2f}x |")
    return "\n".join(lines) + "\n"


async def main() -> None:
    args = parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: `apt-get install -y valgrind`, then rerun.")
    command = " ".join(["uv run python bench/report_api_instructions.py",
                        shlex.join(sys.argv[1:])]).strip()
    log_dir = Path(tempfile.mkdtemp(prefix="report-api-instructions-"))
    print(f"logs: {log_dir}", flush=True)
    run = rb.Run(args, log_dir)  # namespaces and clean-up as in report_api_bench.py
    results: dict[str, dict[str, float]] = {}
    sink = OtlpSink() if args.tracing_cost else None
    try:
        ns = run.namespace()
        await rb.declare_worker_queue(args.amqp_url, ns)
        baseline_ns = run.namespace()
        gateway = run.env(ns)
        gateway.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        if args.tracing_cost:
            # Under valgrind on a busy machine a publish confirm can take longer than the
            # default 2 s (the POST would answer 503); waiting longer costs no instructions.
            gateway["BUS_PUBLISH_TIMEOUT_S"] = "60"
        servers = {"gateway": (["-m", "beacon_gateway.main"], gateway)}
        if sink:
            servers["gateway-traced"] = (["-m", "beacon_gateway.main"], {
                **gateway, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
                "OTEL_TRACES_SAMPLER_ARG": "1.0"})
        else:
            servers["baseline-uvloop"] = (
                [str(BENCH / "baseline_app.py")],
                clean_env({"AMQP_URL": args.amqp_url, "REDIS_URL": args.redis_url,
                           "BASELINE_NS": baseline_ns, "BASELINE_UVLOOP": "1"}),
            )
        for name, (argv, env) in servers.items():  # one at a time, alone on the machine
            proc = start_under_callgrind(name, argv, env, log_dir)
            run.procs.append(proc)
            await wait_http_ok(proc, "/readyz", timeout=args.ready_timeout)
            results[name] = await measure(args, proc, log_dir)
            stop(proc, timeout=30)
    finally:
        await run.cleanup()
        if sink:
            sink.close()
    if sink:
        assert sink.exports > 0, "the traced gateway exported no span: is the exporter installed?"
        text = tracing_report(args, command, results, sink)
    else:
        text = report(args, command, results)
    args.out = args.out or BENCH / "results" / (
        "telemetry_cost.md" if sink else "report_api_instructions.md")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print("\n" + text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
