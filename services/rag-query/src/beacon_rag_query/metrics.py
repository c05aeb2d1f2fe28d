"""Prometheus metrics of the workflow (served at GET /metrics with the runtime's HTTP and bus
metrics). Definitions only: nothing connects anywhere at import."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

QUERIES = Counter("beacon_rag_queries_total", "Queries ended, by final status", ["status"])
HELD = Counter("beacon_rag_answers_held_total", "Answers held back for a human review")
NODE_SECONDS = Histogram(
    "beacon_rag_node_seconds", "Time spent in one workflow node", ["node"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FAITHFULNESS = Histogram(
    "beacon_rag_faithfulness", "Share of an answer's claims the fact checker supported",
    buckets=(0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
)
