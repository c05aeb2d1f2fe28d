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


def observe_handler(consumer: str, event_type: str, outcome: str, started: float) -> None:
    BUS_MESSAGES.labels(consumer, event_type, outcome).inc()
    BUS_HANDLER_SECONDS.labels(consumer, event_type).observe(time.perf_counter() - started)


class HttpMetricsMiddleware:
    """Counts and times requests by route template (never by raw path: ids would explode
    the label space). Unmatched paths are counted as `unmatched`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def record_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], route, str(status["code"])).inc()
            HTTP_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)


async def metrics_endpoint(_request):
    from starlette.responses import Response

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
