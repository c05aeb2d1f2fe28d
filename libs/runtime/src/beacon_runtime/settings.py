"""Settings shared by every service. Built once in a composition root, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Environment variables are the field names in upper case (AMQP_URL, REDIS_URL, ...).

    A URL left unset selects the embedded twin of that port.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = "beacon"
    log_level: str = "INFO"
    log_json: bool = True

    amqp_url: str | None = None
    redis_url: str | None = None
    database_url: str | None = None
    # The Postgres schema this service owns: its tables and its Alembic version table. Each
    # service sets its own default (gateway, ingestion, rag_query, hitl); DB_SCHEMA overrides
    # it in a process that runs one service. The embedded app, which runs them all, makes it a
    # prefix instead (beacon_embedded.main), so no two services ever share a schema.
    db_schema: str | None = None
    # Migrate the schema when the service starts (the advisory lock in db.run_alembic_env
    # makes replicas wait for one another). False where a migration Job runs
    # `python -m beacon_<service>.migrate` once per release (deploy/k8s), so pods only
    # connect.
    migrate_on_start: bool = True
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    # The in-process vector engine's directory (qdrant-edge). Unset: a temporary directory,
    # or var/ingestion/vectors when DATABASE_URL is set (rows there outlive the process).
    vectors_dir: Path | None = None
    hybrid_dense_weight: float = Field(default=1.0, gt=0)
    hybrid_sparse_weight: float = Field(default=1.0, gt=0)
    # Where document bytes and stage artifacts live. Unset: in memory when embedded without
    # DATABASE_URL, else var/ingestion/files; distributed mode needs a directory shared by
    # every replica.
    files_dir: Path | None = None

    # Embeddings: OPENAI_BASE_URL's /embeddings, else all-MiniLM-L6-v2 offline (numpy, weights
    # from a registry package); "hashing" (alias "local") is the lexical embedder tests use.
    embedding_model: str = "text-embedding-3-small"
    embedding_dim: int | None = None  # for models that accept `dimensions`
    embedding_batch_size: int = Field(default=64, ge=1)
    embedding_backend: str = "auto"  # auto | minilm | hashing (= local) | openai

    openai_base_url: str | None = None
    openai_api_key: SecretStr = SecretStr("not-needed")
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    # Ask streams for their token usage (`stream_options.include_usage`); off for a server
    # that refuses the option.
    llm_stream_usage: bool = True
    # Model calls in flight per process (the provider's concurrency or rate limit divided by
    # the replicas); jobs beyond it wait for a slot. Workers run WORKER_CONCURRENCY jobs.
    llm_max_concurrency: int = Field(default=32, ge=1)

    # Names of this deployment's broker topology (`<ns>.events`, `<ns>.<consumer>`) and Redis
    # key prefix (`<ns>:job:...`); unique per test run to isolate runs sharing one server.
    bus_namespace: str = "beacon"
    redis_namespace: str = "beacon"

    bus_max_attempts: int = Field(default=5, ge=1)
    bus_retry_base_delay_s: float = Field(default=0.5, ge=0)
    bus_retry_max_delay_s: float = Field(default=30.0, ge=0)
    # Back-off cap while a handler's dependency is down (RetryLater: waits, never dead-letters).
    bus_wait_max_delay_s: float = Field(default=5.0, gt=0)
    bus_prefetch: int = Field(default=8, ge=1)
    # A publish the broker does not confirm within this fails (a POST answers 503).
    bus_publish_timeout_s: float = Field(default=2.0, gt=0)

    # Effectively once (bus/once.py): a dead worker's claim on a message frees after the
    # lease; a handled event id is recognised as a duplicate for the TTL.
    bus_once_lease_s: float = Field(default=15.0, gt=0)
    bus_processed_ttl_s: float = Field(default=24 * 3600.0, gt=0)

    job_ttl_s: int = Field(default=24 * 3600, gt=0)

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: every service shares one process and bus."""
        return self.amqp_url is None
