"""Settings of the review service. Built in `main.run()` or by the embedded app, never here."""

from __future__ import annotations

from pydantic import Field

from beacon_hitl.domain import ExpiryPolicy
from beacon_runtime.settings import ServiceSettings


class HitlSettings(ServiceSettings):
    service_name: str = "hitl"
    # The internal app: the review queue the gateway forwards /api/v1/hitl/* to, and probes.
    host: str = "127.0.0.1"
    port: int = Field(default=8104, ge=0, le=65535)
    worker_concurrency: int = Field(default=2, ge=1)
    db_schema: str = "hitl"

    # How long an answer may wait for a reviewer; then it expires and EXPIRY_POLICY decides
    # what the analyst gets: `reject` withholds it (as a rejection), `approve` releases it.
    review_ttl_s: float = Field(default=3600.0, gt=0)
    review_expiry_policy: ExpiryPolicy = "reject"
    # How often expired reviews are closed and unconfirmed resolutions published again.
    review_sweep_interval_s: float = Field(default=5.0, gt=0)
