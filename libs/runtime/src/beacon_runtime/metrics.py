"""Prometheus metrics every service exposes at GET /metrics.

Metric objects are definitions in the default registry, not clients: nothing connects
anywhere when this module is imported.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

BUS_MESSAGES = Counter(
    "beacon_bus_messages_total",
    "Messages handled by a consumer, by outcome (ok, retry, dead_letter)",
    ["consumer", "event_type", "outcome"],
)
BUS_HANDLER_SECONDS = Histogram(
    "beacon_bus_handler_seconds", "Time spent in a bus handler", ["consumer", "event_type"]
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


def observe_handler(consumer: str, event_type: str, outcome: str, started: float) -> None:
    BUS_MESSAGES.labels(consumer, event_type, outcome).inc()
    BUS_HANDLER_SECONDS.labels(consumer, event_type).observe(time.perf_counter() - started)


async def metrics_endpoint(_request):
    from starlette.responses import Response

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
