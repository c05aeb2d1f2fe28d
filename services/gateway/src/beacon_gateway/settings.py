from __future__ import annotations

from pydantic import Field, SecretStr

from beacon_runtime.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    db_schema: str = "gateway"
    host: str = "127.0.0.1"
    port: int = 8000
    # Comma-separated report-API keys. Empty in embedded mode means: generate one at start-up.
    api_keys: str = ""
    # Body limits (413 above). Uploads and imports have ingestion's limits, under the same
    # setting names, so the gateway never refuses what ingestion accepts.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    upload_max_bytes: int = Field(default=60 * 1024 * 1024, gt=0)
    import_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    cors_origins: str = ""

    # Research API identity (JWT_SECRET is required when distributed).
    jwt_secret: SecretStr | None = None
    access_token_ttl_s: int = Field(default=3600, gt=0)
    refresh_token_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    default_daily_query_limit: int = Field(default=100, ge=1)
    dev_admin_email: str | None = None
    dev_admin_password: SecretStr | None = None
    login_failures_allowed: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    api_key_cache_s: float = Field(default=30.0, ge=0)
    # Argon2id cost (OWASP's first recommended profile by default); tests lower it.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=1024)

    rate_limit_companies_per_hour: int = Field(default=1000, ge=1)
    rate_limit_documents_per_hour: int = Field(default=500, ge=1)
    rate_limit_admin_per_hour: int = Field(default=100, ge=1)

    # Internal APIs of the services the gateway forwards reads to (distributed mode).
    ingestion_url: str | None = None
    rag_query_url: str | None = None
    hitl_url: str | None = None
    # Asked only by /api/v1/admin/health (report-writer has no public reads).
    report_writer_url: str | None = None
    upstream_timeout_s: float = Field(default=30.0, gt=0)

    # Answers: how long POST /query waits, and how SSE streams behave.
    query_timeout_s: float = Field(default=120.0, gt=0)
    sse_idle_timeout_s: float = Field(default=120.0, gt=0)
    sse_max_lifetime_s: float = Field(default=900.0, gt=0)
    sse_ping_s: float = Field(default=15.0, gt=0)
    # A client that drops and does not come back within this grace stops its query.
    sse_cancel_grace_s: float = Field(default=10.0, ge=0)
    # How long a query's frames stay replayable after its last one. Longer than hitl's
    # REVIEW_TTL_S, so a client can re-attach to an answer that waited for its review.
    frame_ttl_s: int = Field(default=3 * 3600, gt=0)
    # Job events and frames handled at once per replica. The same WORKER_CONCURRENCY the
    # workers read: their events arrive at the rate they run jobs, so the two scale together.
    worker_concurrency: int = Field(default=32, ge=1)

    # The job watchdog (watchdog.py): a started job of these kinds with no sign of life for
    # JOB_STALL_TIMEOUT_S fails with JOB_STALLED. Queries are not watched: an answer held
    # for review is open for hours, and SSE has its own idle timeout.
    job_stall_timeout_s: float = Field(default=600.0, gt=0)
    job_watchdog_interval_s: float = Field(default=30.0, gt=0)
    job_watchdog_kinds: str = "generate,refine"

    def watched_kinds(self) -> list[str]:
        return [kind.strip() for kind in self.job_watchdog_kinds.split(",") if kind.strip()]

    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
