"""Prometheus metrics every service exposes at GET /metrics.

Metric objects are definitions in the default registry, not clients: nothing connects
anywhere when this module is imported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from beacon_runtime.logs import get_logger

log = get_logger(__name__)

BUS_MESSAGES = Counter(
    "beacon_bus_messages_total",
    "Messages handled by a consumer, by outcome (ok, retry, dead_letter)",
    ["consumer", "event_type", "outcome"],
)
BUS_HANDLER_SECONDS = Histogram(
    "beacon_bus_handler_seconds", "Time spent in a bus handler", ["consumer", "event_type"]
)
BUS_QUEUE_MESSAGES = Gauge(
    "beacon_bus_queue_messages",
    "Messages waiting in a queue (ready, not yet delivered), read from the broker at scrape "
    "time; the in-process bus reports its own queues",
    ["queue"],
)
BUS_QUEUE_CONSUMERS = Gauge(
    "beacon_bus_queue_consumers", "Consumers attached to a queue, read at scrape time", ["queue"]
)
BUS_DELIVERY_LAG = Histogram(
    "beacon_bus_delivery_lag_seconds",
    "Consumer lag: from an event's occurred_at to the start of its first delivery's handler "
    "(retries and waits excluded; across hosts it includes their clock skew)",
    ["consumer", "event_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
JOBS_CREATED = Counter("beacon_jobs_created_total", "Jobs accepted, by kind", ["kind"])
JOBS_STARTED = Counter("beacon_jobs_started_total", "Jobs a worker started, by kind", ["kind"])
JOBS_FINISHED = Counter(
    "beacon_jobs_finished_total", "Jobs ended, by kind and outcome (completed, failed)",
    ["kind", "outcome"],
)
JOB_QUEUED_SECONDS = Histogram(
    "beacon_job_queued_seconds", "From a job's creation to a worker starting it, by kind",
    ["kind"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
JOB_SECONDS = Histogram(
    "beacon_job_seconds", "From a job's creation to its end, by kind and outcome",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 300, 900, 1800),
)
BUS_ONCE = Counter(
    "beacon_bus_once_total",
    "Deliveries seen by the effectively-once guard: run, duplicate (skipped), busy "
    "(another delivery holds it: wait), cancelled (skipped)",
    ["consumer", "outcome"],
)
HTTP_REQUESTS = Counter(
    "beacon_http_requests_total", "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "beacon_http_request_seconds", "HTTP request latency by route template", ["method", "route"]
)

MODEL_TOKENS = Counter(
    "beacon_model_tokens_total",
    "Tokens of model and embedding calls, as the provider reported them, by type (input, output)",
    ["operation", "model", "type"],
)
MODEL_CALL_SECONDS = Histogram(
    "beacon_model_call_seconds",
    "Duration of model calls (chat, embeddings) by outcome (ok, error, cancelled); a stream's "
    "from its first request to its last piece",
    ["operation", "model", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80),
)


def observe_lag(consumer: str, event_type: str, occurred_at: datetime) -> None:
    if occurred_at.tzinfo is None:  # an envelope from an older publisher: UTC by contract
        occurred_at = occurred_at.replace(tzinfo=UTC)
    lag = (datetime.now(UTC) - occurred_at).total_seconds()
    BUS_DELIVERY_LAG.labels(consumer, event_type).observe(max(0.0, lag))


def observe_handler(consumer: str, event_type: str, outcome: str, started: float) -> None:
    BUS_MESSAGES.labels(consumer, event_type, outcome).inc()
    BUS_HANDLER_SECONDS.labels(consumer, event_type).observe(time.perf_counter() - started)


# Gauges read from elsewhere at scrape time (the broker's queue depths): one refresh per
# scrape, so nothing polls between scrapes and the numbers are as fresh as the scrape.
_refreshers: list[Callable[[], Awaitable[None]]] = []
SCRAPE_REFRESH_TIMEOUT_S = 2.0


def refresh_on_scrape(refresh: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Run `refresh` before each /metrics answer; returns the function that unregisters it."""
    _refreshers.append(refresh)
    return lambda: _refreshers.remove(refresh) if refresh in _refreshers else None


async def refresh_gauges() -> None:
    """Bounded: a broker that does not answer leaves the last values, never a hung scrape."""
    for refresh in list(_refreshers):
        try:
            async with asyncio.timeout(SCRAPE_REFRESH_TIMEOUT_S):
                await refresh()
        except Exception as exc:  # noqa: BLE001 - a scrape reports, it never fails
            log.warning("metrics.refresh_failed", error=repr(exc))


async def metrics_endpoint(_request):
    from starlette.responses import Response

    await refresh_gauges()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
