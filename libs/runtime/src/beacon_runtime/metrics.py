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


def observe_handler(consumer: str, event_type: str, outcome: str, started: float) -> None:
    BUS_MESSAGES.labels(consumer, event_type, outcome).inc()
    BUS_HANDLER_SECONDS.labels(consumer, event_type).observe(time.perf_counter() - started)


async def metrics_endpoint(_request):
    from starlette.responses import Response

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
