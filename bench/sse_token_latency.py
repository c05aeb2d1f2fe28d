"""Time from a token leaving the model to the SSE client receiving it, p50 and p99.

    uv run python bench/sse_token_latency.py [--queries 20] [--modes embedded,distributed]

A streaming OpenAI-compatible server (bench/timestamp_llm.py) stamps every token with its
send time; the research assistant answers questions with it as its model; an SSE client
reads `token` events from POST /api/v1/query/stream and subtracts each stamp from the
arrival time. The path measured is model -> rag-query (token batching: 48 chars or 30 ms)
-> bus -> gateway -> frame log -> SSE. Embedded: one process, in-process bus and memory.
Distributed: gateway, rag-query and ingestion as processes over RabbitMQ, Redis, Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from processes import clean_env, free_port, start, start_service, stop, wait_http_ok  # noqa: E402

STAMP = re.compile(r"⟨(\d{19})⟩")
ADMIN = {"email": "bench@example.com", "password": "bench-password-1"}
QUESTION = "What was Reliance revenue from operations in FY2024?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(gateway_url: str, queries: int) -> tuple[list[float], int]:
    latencies_ms: list[float] = []
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(120):  # the sample corpus is ingested at start-up
            docs = (await client.get("/api/v1/documents?status=completed", headers=headers)).json()
            if docs.get("total", 0) >= 6:
                break
            await asyncio.sleep(0.25)
        answered = 0
        for _ in range(queries):
            async with client.stream("POST", "/api/v1/query/stream", headers=headers,
                                     json={"question": QUESTION}) as response:
                event = None
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "token":
                        now = time.time_ns()
                        for stamp in STAMP.findall(json.loads(line[6:])["content"]):
                            latencies_ms.append((now - int(stamp)) / 1e6)
                    elif line.startswith("data: ") and event == "done":
                        answered += 1
    return latencies_ms, answered


async def run_mode(mode: str, queries: int, llm_url: str, log_dir: Path) -> dict:
    # FAITHFULNESS_THRESHOLD 0: stamped tokens support no claim, and a held answer would wait
    # for a reviewer (docs/hitl.md) instead of ending in `done`.
    common = {"OPENAI_BASE_URL": llm_url, "OPENAI_MODEL": "timestamp", "LOG_LEVEL": "WARNING",
              "FAITHFULNESS_THRESHOLD": 0,
              "EMBEDDING_BACKEND": "local",  # the model server here has no /embeddings
              "DEV_ADMIN_EMAIL": ADMIN["email"], "DEV_ADMIN_PASSWORD": ADMIN["password"],
              "RATE_LIMIT_ADMIN_PER_HOUR": 100000, "API_KEYS": "bench-key"}
    procs = []
    try:
        if mode == "embedded":
            gateway = start_service("embedded", "beacon_embedded.main", env=clean_env(common), log_dir=log_dir)
            procs.append(gateway)
            await wait_http_ok(gateway, "/readyz", timeout=60)
        else:
            ns = "bench" + uuid.uuid4().hex[:8]
            dist = {**common, "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/",
                    "REDIS_URL": "redis://127.0.0.1:6379/0", "BUS_NAMESPACE": ns, "REDIS_NAMESPACE": ns,
                    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test", "JWT_SECRET": "bench-" + ns,
                    "INGEST_SAMPLE_CORPUS": True, "FILES_DIR": str(log_dir / "files")}
            ingestion = start_service("ingestion", "beacon_ingestion.main",
                                      env=clean_env({**dist, "DB_SCHEMA": ns + "_ing"}), log_dir=log_dir)
            procs.append(ingestion)
            await wait_http_ok(ingestion, "/readyz", timeout=60)
            rag = start_service("rag-query", "beacon_rag_query.main",
                                env=clean_env({**dist, "DB_SCHEMA": ns + "_rag", "INGESTION_URL": ingestion.url}),
                                log_dir=log_dir)
            procs.append(rag)
            gateway = start_service("gateway", "beacon_gateway.main", env=clean_env({
                **dist, "DB_SCHEMA": ns + "_gw", "INGESTION_URL": ingestion.url, "RAG_QUERY_URL": rag.url}),
                log_dir=log_dir)
            procs.append(gateway)
            await wait_http_ok(rag, "/readyz", timeout=60)
            await wait_http_ok(gateway, "/readyz", timeout=60)
        await measure(gateway.url, 2)  # warm-up
        latencies, answered = await measure(gateway.url, queries)
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
        if mode != "embedded":
            await remove_namespace(ns, procs)
    return {"mode": mode, "tokens": len(latencies), "answered": answered,
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": percentile(latencies, 0.99) if latencies else float("nan")}


async def remove_namespace(ns: str, procs) -> None:
    """What the distributed run left in RabbitMQ, Redis and Postgres, gone."""
    import asyncpg
    from beacon_runtime.adapters import build_bus
    from beacon_runtime.settings import ServiceSettings
    from report_api_bench import delete_keys

    # The services' own (default) retry settings, so every delay queue they made is named.
    bus = build_bus(ServiceSettings(amqp_url="amqp://guest:guest@127.0.0.1:5672/", bus_namespace=ns))
    consumers = {c for proc in procs for r in proc.logs("bus.started") for c in r.get("consumers") or []}

    async def never(_envelope) -> None:  # pragma: no cover - never started
        raise RuntimeError

    for consumer in consumers | {"gateway", "gateway-frames"}:
        bus.subscribe(consumer, ["#"], never)
    await bus.delete_topology()
    await delete_keys("redis://127.0.0.1:6379/0", ns)
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        for suffix in ("_ing", "_rag", "_gw"):
            await connection.execute(f'DROP SCHEMA IF EXISTS "{ns}{suffix}" CASCADE')
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--modes", default="embedded,distributed")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="sse-bench-"))
    port = free_port()
    llm = start("timestamp-llm", [str(REPO / "bench" / "timestamp_llm.py")],
                env=clean_env({"PORT": port, "TOKENS": 60, "INTERVAL_MS": 15}), log_dir=log_dir, port=port)
    try:
        for _ in range(100):
            try:
                httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={"messages": []}, timeout=1)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        rows = [await run_mode(mode, args.queries, f"http://127.0.0.1:{port}/v1", log_dir)
                for mode in args.modes.split(",")]
    finally:
        stop(llm, timeout=5)
    print("| mode | answers | tokens measured | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['mode']} | {row['answered']} | {row['tokens']} | {row['p50']:.1f} | {row['p99']:.1f} |")
    print(f"\nlogs: {log_dir}")


if __name__ == "__main__":
    asyncio.run(main())
