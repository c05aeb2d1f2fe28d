"""Settings of the report writer. Built in `main.run()` or by the embedded app, never here."""

from __future__ import annotations

from pydantic import Field

from beacon_runtime.settings import ServiceSettings


class ReportWriterSettings(ServiceSettings):
    service_name: str = "report-writer"
    # The internal app: health and readiness probes only, no public API.
    host: str = "127.0.0.1"
    port: int = Field(default=8101, ge=0, le=65535)
    # Jobs in flight per replica. They mostly wait on the model, so many fit in one process;
    # LLM_MAX_CONCURRENCY bounds the model calls among them (the provider's rate limit).
    worker_concurrency: int = Field(default=32, ge=1)
    # Earlier sections of a session, given to the model as context.
    redis_namespace: str = "beacon"
    session_ttl_s: int = Field(default=24 * 3600, gt=0)
    # The customer's material: ingestion's internal material search. Unset: drafts say that
    # no material can be reached (embedded mode passes ingestion's app instead).
    ingestion_url: str | None = None
    ingestion_timeout_s: float = Field(default=30.0, gt=0)
    # Per topic, after fusing its two queries; sentences are then filed by topic, so more
    # passages mean more to choose from, not more off-topic text (bench/results/report.md).
    passages_per_topic: int = Field(default=8, ge=1, le=30)
