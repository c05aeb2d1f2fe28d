"""OpenTelemetry tracing and Prometheus metrics for one service process.

Tracing: a TracerProvider named after the service; spans are exported over OTLP/HTTP when
OTEL_EXPORTER_OTLP_ENDPOINT is set (the standard variable), and otherwise only carried: the
trace id still reaches every log line and every RabbitMQ hop, so one request is followed
through gateway and workers by its trace_id. FastAPI apps get server spans and httpx
clients (forwarded reads) client spans.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from beacon_runtime.http_context import RequestContextMiddleware
from beacon_runtime.logs import REQUEST_ID_HEADER, current_request_id
from beacon_runtime.metrics import metrics_endpoint

if TYPE_CHECKING:
    from beacon_runtime.http_app import ServiceApp

_configured = False


def setup_tracing(service_name: str) -> None:
    """Once per process (the embedded app calls it once for every service)."""
    global _configured
    if _configured:
        return
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    # Without an exporter nothing would ever read a recorded span: record none (trace ids
    # are still made and propagated, so logs and bus hops stay correlated), but follow an
    # upstream caller that asks for its trace to be sampled. With an exporter, sample
    # OTEL_TRACES_SAMPLER_ARG of new traces (default all).
    ratio = float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0")) if exporting else 0.0
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(ratio)),
    )
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(
        request_hook=_send_request_id, async_request_hook=_async_send_request_id
    )
    _configured = True


def _send_request_id(_span, request) -> None:
    """Internal calls (rag-query asking ingestion to search) carry the client's request id
    too, so the called service's log lines have it."""
    request_id = current_request_id()
    if request_id is not None and request.headers is not None and \
            REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


async def _async_send_request_id(span, request) -> None:
    _send_request_id(span, request)


def fastapi_telemetry() -> dict:
    """FastAPI's own OpenTelemetry support, for `FastAPI(telemetry=...)`. It makes a server
    span per request, worth its cost (measured: ~10 % of throughput) only when spans are
    exported. Without an exporter, RequestContextMiddleware still continues an incoming
    traceparent, so logs and bus hops stay correlated. Metrics are Prometheus's, logs
    structlog's."""
    return {
        "tracing": bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")),
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "exclude": _probe,
    }


_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


def _probe(scope) -> bool:
    return scope.get("path") in _UNTRACED


def instrument_app(app: ServiceApp, *, public: bool = False) -> None:
    """/metrics, and one RequestContextMiddleware (request id, trace context, Prometheus
    metrics; security headers on `public` apps). Call it last: the layer is outermost,
    outside FastAPI's own layers too, so even the 500 of an unhandled error carries them."""
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_edge_middleware(RequestContextMiddleware, security_headers=public)
