"""Settings of the rag-query service. Built in `main.run()` or by the embedded app, never here."""

from __future__ import annotations

from pydantic import Field

from beacon_runtime.settings import ServiceSettings

DEFAULT_SENSITIVE_TOPICS = (
    "fraud,investigation,insider information,insider trading,price target,target price,"
    "money laundering,whistleblower,forensic audit,sebi probe,should i buy,should i sell,"
    "buy or sell,stock tip"
)


class RagQuerySettings(ServiceSettings):
    service_name: str = "rag-query"
    # The internal app: query reads, history, feedback, admin stats, health probes.
    host: str = "127.0.0.1"
    port: int = Field(default=8103, ge=0, le=65535)
    # Jobs in flight per replica. They mostly wait on the model, so many fit in one process;
    # LLM_MAX_CONCURRENCY bounds the model calls among them (the provider's rate limit).
    worker_concurrency: int = Field(default=32, ge=1)
    # Where the ingestion service's internal API lives (distributed mode). In embedded mode
    # the composition root is handed an httpx client bound to the ingestion app instead.
    ingestion_url: str | None = None
    db_schema: str = "rag_query"
    ingestion_timeout_s: float = Field(default=10.0, gt=0)
    company_cache_ttl_s: float = Field(default=300.0, ge=0)

    retrieve_limit: int = Field(default=8, ge=1, le=50)
    min_relevant: int = Field(default=2, ge=1)
    max_rewrites: int = Field(default=2, ge=0, le=5)
    max_context_passages: int = Field(default=6, ge=1)

    # Human review: questions touching these topics, or answers whose faithfulness is below
    # the threshold, wait for a reviewer before the user sees them.
    sensitive_topics: str = DEFAULT_SENSITIVE_TOPICS
    faithfulness_threshold: float = Field(default=0.6, ge=0, le=1)
    # Below this relevance (does the answer address the question?) the answer says plainly
    # that it is not confident; it is not sent to review for that alone.
    relevance_threshold: float = Field(default=0.5, ge=0, le=1)

    # Token frames: one bus message per batch, flushed at this size or age.
    token_flush_chars: int = Field(default=48, ge=1)
    token_flush_ms: float = Field(default=30.0, gt=0)

    def sensitive_topic_list(self) -> list[str]:
        return [t.strip().lower() for t in self.sensitive_topics.split(",") if t.strip()]
