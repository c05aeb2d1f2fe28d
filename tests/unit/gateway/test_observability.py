"""A request's trace continues into the worker that handles its job; /metrics counts it."""

from __future__ import annotations

import httpx
from opentelemetry import trace

from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.jobs.memory import InMemoryJobStore

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
BODY = {"type": "Technical_scope", "customer_id": "c", "opportunity_id": "o",
        "section_title": "Technology Stack"}


async def test_traceparent_reaches_the_handler_and_metrics_count_the_route():
    # No tracer provider is installed (it is process-wide and would leak into other tests):
    # the request-context layer continues the caller's traceparent on its own.
    bus = InMemoryBus()
    seen: list[str] = []

    async def worker(_envelope):
        seen.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))

    bus.subscribe("worker", ["job.requested.*"], worker)
    service = build(GatewaySettings(api_keys="k", jwt_secret="s" * 40),
                    Adapters(bus=bus, jobs=InMemoryJobStore()))
    await bus.start()
    transport = httpx.ASGITransport(app=service.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/generate", json=BODY, headers={
            "X-API-Key": "k", "Session-Id": "s", "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        assert response.status_code == 202
        await bus.drain()
        metrics = (await client.get("/metrics")).text
    await bus.stop()
    assert seen == [TRACE_ID]
    assert 'beacon_http_requests_total{method="POST",route="/generate",status="202"}' in metrics
    assert 'beacon_bus_messages_total{consumer="worker",event_type="JobRequested",outcome="ok"}' in metrics


async def test_an_unhandled_error_is_a_500_envelope_with_request_id_and_headers():
    # The request-context layer sits outside FastAPI's ServerErrorMiddleware, so the 500
    # it sends for an unhandled error still gets the request id and security headers and
    # is counted under its route.
    service = build(GatewaySettings(api_keys="k", jwt_secret="s" * 40),
                    Adapters(bus=InMemoryBus(), jobs=InMemoryJobStore()))

    @service.http.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    transport = httpx.ASGITransport(app=service.http, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "rq-500"})
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "rq-500"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "secret detail" not in response.text
    assert response.json()["status"] == "error"
    assert 'beacon_http_requests_total{method="GET",route="/boom",status="500"}' in metrics
