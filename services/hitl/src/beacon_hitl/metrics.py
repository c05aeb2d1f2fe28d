"""Prometheus metrics of the review queue (served at GET /metrics with the runtime's HTTP and
bus metrics). Definitions only: nothing connects anywhere at import."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REVIEWS = Counter(
    "beacon_hitl_reviews_total", "Reviews received and ended, by event",
    ["event"],  # received, approved, rejected, edited, expired
)
WAIT_SECONDS = Histogram(
    "beacon_hitl_review_wait_seconds", "Time from a review's creation to its end",
    ["status"], buckets=(10, 30, 60, 300, 600, 1800, 3600, 7200, 86400),
)
