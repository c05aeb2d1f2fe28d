"""Prometheus metrics and spans of the ingestion pipeline (served at GET /metrics with the
runtime's HTTP and bus metrics). Definitions only: nothing connects anywhere at import."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from prometheus_client import Histogram

STAGE_SECONDS = Histogram(
    "beacon_ingestion_stage_seconds",
    "Duration of one ingestion stage attempt, by outcome (completed, failed)",
    ["stage", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)

tracer = trace.get_tracer("beacon_ingestion.pipeline")


@contextmanager
def observed_stage(stage: str, document_id: int, attempt: int) -> Iterator[None]:
    """One stage attempt in a span `ingest {stage}`, timed by outcome."""
    started = time.perf_counter()
    outcome = "failed"
    attributes = {"beacon.ingestion.stage": stage, "beacon.document.id": document_id,
                  "beacon.ingestion.attempt": attempt}
    with tracer.start_as_current_span(f"ingest {stage}", attributes=attributes):
        try:
            yield
            outcome = "completed"
        finally:
            STAGE_SECONDS.labels(stage, outcome).observe(time.perf_counter() - started)
