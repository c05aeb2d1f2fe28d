"""Settings of the ingestion service. Built in `main.run()`, the CLI or the embedded app."""

from __future__ import annotations

from pathlib import Path

from beacon_runtime.settings import ServiceSettings
from pydantic import Field


class IngestionSettings(ServiceSettings):
    service_name: str = "ingestion"
    db_schema: str = "ingestion"
    host: str = "127.0.0.1"
    port: int = Field(default=8102, ge=0, le=65535)
    worker_concurrency: int = Field(default=2, ge=1)
    # Files, vectors and embeddings are adapters: their settings are ServiceSettings'
    # (beacon_runtime.settings), chosen in beacon_runtime.adapters.

    qdrant_collection: str = "beacon_chunks"
    # Customer material of the report writer: its own collection, and how long it is kept
    # (unset: until deleted); expired material is deleted every `material_sweep_s`.
    material_collection: str = "beacon_material"
    material_retention_days: float | None = Field(default=None, gt=0)
    material_sweep_s: float = Field(default=3600.0, gt=0)

    # Download (SSRF rules: docs/ingestion.md).
    ingest_allowed_hosts: str = ""  # comma-separated hosts or host:port allowed although private
    download_max_bytes: int = Field(default=60 * 1024 * 1024, gt=0)
    download_timeout_s: float = Field(default=60.0, gt=0)
    download_max_redirects: int = Field(default=5, ge=0)
    upload_max_bytes: int = Field(default=60 * 1024 * 1024, gt=0)
    import_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)

    # Parsing runs in a child process that is killed when it overruns.
    parse_page_timeout_s: float = Field(default=20.0, gt=0)
    parse_document_timeout_s: float = Field(default=600.0, gt=0)
    parse_max_pages: int = Field(default=3000, ge=1)

    chunk_target_chars: int = Field(default=1200, ge=200)
    chunk_max_chars: int = Field(default=2000, ge=300)

    # A stage that reports no progress for this long is cancelled: the attempt fails and the
    # bus delivers it again (retries and their back-off are the bus's: BUS_MAX_ATTEMPTS...).
    stage_stall_timeout_s: float = Field(default=120.0, gt=0)

    # Start-up: seed the catalogue when empty; ingest the bundled sample corpus (default:
    # only in embedded mode).
    seed_catalogue: bool = True
    ingest_sample_corpus: bool | None = None
    source_registry_path: Path | None = None

    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.ingest_allowed_hosts.split(",") if h.strip())

    def wants_sample_corpus(self) -> bool:
        return self.embedded if self.ingest_sample_corpus is None else self.ingest_sample_corpus
