"""Baseline for bench/report_api_bench.py: the least a report API can do per request.

POST /generate  parse the JSON body (pydantic), SET <ns>:job:<uuid> to a JSON document with a
                24 h TTL, publish one persistent message to the topic exchange <ns>.events
                (bound to the durable quorum queue <ns>.baseline) and wait for the
                publisher confirm, answer 202 with the job id.
GET /status/id  GET <ns>:job:<id>, answer 200 with it (404 if missing).

No auth, no dedup, no envelope validation, no logging. Served exactly like the gateway
(beacon_runtime.serve): `asyncio.run(uvicorn.Server(Config(app, log_config=None,
access_log=False, lifespan="on")).serve())`, 1 worker, http "auto" (httptools). Note that
this runs on asyncio's default loop: Config(loop="auto") only takes effect through
uvicorn.run()/Server.run(). BASELINE_UVLOOP=1 runs it on uvloop instead, for comparison.

    REDIS_URL=... AMQP_URL=... BASELINE_NS=... PORT=... python bench/baseline_app.py
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aio_pika
import redis.asyncio as aioredis
import uvicorn
from aio_pika.abc import DeliveryMode, ExchangeType
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

NS = os.environ.get("BASELINE_NS", "baseline")
TTL_S = 24 * 3600


class Body(BaseModel):
    type: str
    customer_id: str
    opportunity_id: str
    section_title: str


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.redis = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    connection = await aio_pika.connect_robust(os.environ["AMQP_URL"])
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange(f"{NS}.events", ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(
        f"{NS}.baseline", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await queue.bind(exchange, routing_key="job.requested.*")
    app.state.exchange = exchange
    try:
        yield
    finally:
        await connection.close()
        await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.post("/generate", status_code=202)
async def generate(body: Body, request: Request) -> JSONResponse:
    job_id = str(uuid.uuid4())
    doc = json.dumps(
        {
            "job_id": job_id,
            "status": "pending",
            "params": body.model_dump(),
            "created_at": datetime.now(UTC).isoformat(),
        }
    )
    await request.app.state.redis.set(f"{NS}:job:{job_id}", doc, ex=TTL_S)
    await request.app.state.exchange.publish(
        aio_pika.Message(
            doc.encode(), content_type="application/json", delivery_mode=DeliveryMode.PERSISTENT
        ),
        routing_key="job.requested.generate",
    )
    return JSONResponse(
        {"status": "processing", "message": "Job queued",
         "data": {"job_id": job_id, "status": "pending"}},
        status_code=202,
    )


@app.get("/status/{job_id}")
async def status(job_id: str, request: Request) -> JSONResponse:
    raw = await request.app.state.redis.get(f"{NS}:job:{job_id}")
    if raw is None:
        return JSONResponse({"status": "error", "message": "not found"}, status_code=404)
    return JSONResponse({"status": "processing", "message": "Job processing", "data": json.loads(raw)})


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    import asyncio

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    if os.environ.get("BASELINE_UVLOOP") == "1":
        import uvloop

        uvloop.run(server.serve())  # what `uvicorn.run` would pick with uvicorn[standard]
    else:
        asyncio.run(server.serve())  # exactly how beacon_runtime.serve runs the gateway
