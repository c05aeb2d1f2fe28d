"""Time from a reviewer's decision to the analyst's SSE client receiving `done`, p50 and p99.

    uv run python bench/hitl_decision_latency.py [--samples 30] [--modes embedded,distributed]

Each sample: an analyst streams a sensitive question (POST /api/v1/query/stream) and reads
until the `review` node frame says `pending`; a reviewer then approves the review
(POST /api/v1/hitl/{id}/approve) while the analyst's stream stays attached. Measured from
just before the reviewer's request is sent:
- decision -> done: the analyst's client reads `done` (hitl records the decision and
  publishes ReviewResolved -> bus -> rag-query completes the query and publishes its last
  frames -> bus -> gateway frame log -> SSE);
- decision -> 200 (the baseline, same run): the reviewer's own request returns, i.e. the
  decision is recorded. The ratio says how much longer the analyst waits than the reviewer.
Embedded: one process, in-process bus and memory. Distributed: ingestion, rag-query, hitl and
the gateway as processes over RabbitMQ, Redis and Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "bench"))
from processes import clean_env, start_service, stop, wait_http_ok  # noqa: E402

ADMIN = {"email": "bench@example.com", "password": "bench-password-1"}
ANALYST = {"email": "analyst@example.com", "password": "analyst-password-1"}
QUESTION = "Should I buy Reliance shares, given its revenue from operations in FY2024?"
AMQP, REDIS = "amqp://guest:guest@127.0.0.1:5672/", "redis://127.0.0.1:6379/0"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMAS = ("_ing", "_rag", "_gw", "_hitl")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def events(response: httpx.Response):
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


async def one_sample(client: httpx.AsyncClient, analyst: dict, reviewer: dict) -> tuple[float, float]:
    held = asyncio.get_running_loop().create_future()
    done_at = asyncio.get_running_loop().create_future()

    async def analyst_stream() -> None:
        async with client.stream("POST", "/api/v1/query/stream", headers=analyst,
                                 json={"question": QUESTION}) as response:
            async for event, data in events(response):
                if event == "node" and data.get("node") == "review" and data["status"] == "pending":
                    held.set_result(data["review_id"])
                elif event == "done":
                    done_at.set_result(time.perf_counter())
                    return
        if not done_at.done():
            done_at.set_exception(RuntimeError("stream ended without done"))

    reader = asyncio.create_task(analyst_stream())
    review_id = await asyncio.wait_for(held, 60)
    sent = time.perf_counter()
    response = await client.post(f"/api/v1/hitl/{review_id}/approve", headers=reviewer,
                                 json={"notes": "bench"})
    answered = time.perf_counter()
    assert response.status_code == 200, response.text
    done = await asyncio.wait_for(done_at, 60)
    await reader
    return (done - sent) * 1000, (answered - sent) * 1000


async def measure(url: str, samples: int) -> tuple[list[float], list[float]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        await client.post("/api/v1/admin/users", headers=admin, json={**ANALYST, "full_name": "Analyst"})
        analyst_token = (await client.post("/api/v1/auth/login", json=ANALYST)).json()["access_token"]
        analyst = {"Authorization": f"Bearer {analyst_token}"}
        for _ in range(600):  # the sample corpus is ingested at start-up
            docs = (await client.get("/api/v1/documents?status=completed", headers=admin)).json()
            if docs.get("total", 0) >= 6:
                break
            await asyncio.sleep(0.25)
        for _ in range(2):  # warm-up
            await one_sample(client, analyst, admin)
        to_done, to_response = [], []
        for _ in range(samples):
            done_ms, response_ms = await one_sample(client, analyst, admin)
            to_done.append(done_ms)
            to_response.append(response_ms)
    return to_done, to_response


async def run_mode(mode: str, samples: int, log_dir: Path) -> dict:
    common = {"LOG_LEVEL": "WARNING", "EMBEDDING_BACKEND": "local", "API_KEYS": "bench-key",
              "DEV_ADMIN_EMAIL": ADMIN["email"], "DEV_ADMIN_PASSWORD": ADMIN["password"],
              "DEFAULT_DAILY_QUERY_LIMIT": 100000, "RATE_LIMIT_ADMIN_PER_HOUR": 100000}
    procs, ns = [], "bench" + uuid.uuid4().hex[:8]
    try:
        if mode == "embedded":
            gateway = start_service("embedded", "beacon_embedded.main", env=clean_env(common),
                                    log_dir=log_dir)
            procs.append(gateway)
            await wait_http_ok(gateway, "/readyz", timeout=120)
        else:
            dist = {**common, "AMQP_URL": AMQP, "REDIS_URL": REDIS, "DATABASE_URL": POSTGRES,
                    "BUS_NAMESPACE": ns, "REDIS_NAMESPACE": ns, "JWT_SECRET": "bench-" + ns}

            def service(name: str, module: str, schema: str, **env):
                proc = start_service(name, module, env=clean_env({**dist, "DB_SCHEMA": ns + schema,
                                                                  **env}), log_dir=log_dir)
                procs.append(proc)
                return proc

            ingestion = service("ingestion", "beacon_ingestion.main", "_ing",
                                INGEST_SAMPLE_CORPUS=True, FILES_DIR=str(log_dir / "files"))
            await wait_http_ok(ingestion, "/readyz", timeout=180)
            rag = service("rag-query", "beacon_rag_query.main", "_rag", INGESTION_URL=ingestion.url)
            hitl = service("hitl", "beacon_hitl.main", "_hitl")
            gateway = service("gateway", "beacon_gateway.main", "_gw", INGESTION_URL=ingestion.url,
                              RAG_QUERY_URL=rag.url, HITL_URL=hitl.url)
            for proc in (rag, hitl, gateway):
                await wait_http_ok(proc, "/readyz", timeout=180)
        to_done, to_response = await measure(gateway.url, samples)
    finally:
        for proc in reversed(procs):
            stop(proc, timeout=10)
        if mode != "embedded":
            await remove_namespace(ns, procs)
    return {"mode": mode, "samples": len(to_done),
            "done_p50": statistics.median(to_done), "done_p99": percentile(to_done, 0.99),
            "response_p50": statistics.median(to_response),
            "response_p99": percentile(to_response, 0.99)}


async def remove_namespace(ns: str, procs) -> None:
    """What the distributed run left in RabbitMQ, Redis and Postgres, gone."""
    import asyncpg
    from report_api_bench import delete_keys

    from beacon_runtime.adapters import build_bus
    from beacon_runtime.settings import ServiceSettings

    # The services' own (default) retry settings, so every delay queue they made is named.
    bus = build_bus(ServiceSettings(amqp_url=AMQP, bus_namespace=ns))
    consumers = {c for proc in procs for r in proc.logs("bus.started") for c in r.get("consumers") or []}

    async def never(_envelope) -> None:  # pragma: no cover - never started
        raise RuntimeError

    for consumer in consumers | {"gateway", "gateway-frames"}:
        bus.subscribe(consumer, ["#"], never)
    await bus.delete_topology()
    await delete_keys(REDIS, ns)
    connection = await asyncpg.connect(POSTGRES)
    try:
        for suffix in SCHEMAS:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{ns}{suffix}" CASCADE')
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--modes", default="embedded,distributed")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="hitl-bench-"))
    rows = [await run_mode(mode, args.samples, log_dir) for mode in args.modes.split(",")]
    print("| mode | samples | decision -> done p50 ms | p99 ms | decision -> 200 p50 ms (baseline) "
          "| p99 ms | ratio p50 |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['samples']} | {r['done_p50']:.1f} | {r['done_p99']:.1f} | "
              f"{r['response_p50']:.1f} | {r['response_p99']:.1f} | "
              f"{r['done_p50'] / r['response_p50']:.2f}x |")
    print(f"\nlogs: {log_dir}")


if __name__ == "__main__":
    asyncio.run(main())
