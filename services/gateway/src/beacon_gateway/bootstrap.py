"""Composition root of the gateway: the one place its dependencies are wired."""

from __future__ import annotations

import secrets
from functools import partial

from beacon_contracts import routing
from beacon_gateway.api.app import create_app
from beacon_gateway.api.report import ReportDeps
from beacon_gateway.domain import ApiKeyVerifier
from beacon_gateway.handlers import apply_job_event
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.bus.port import EventBus
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.logs import get_logger
from beacon_runtime.service import Service

log = get_logger(__name__)


def resolve_api_keys(settings: GatewaySettings) -> list[str]:
    """API_KEYS, or in embedded mode a fresh key printed once so a developer can use it."""
    keys = settings.api_key_list()
    if keys:
        return keys
    if not settings.embedded:
        raise RuntimeError("API_KEYS must be set when the gateway runs distributed")
    key = "dev-" + secrets.token_urlsafe(24)
    print(f"\n  Report API key for this run (X-API-Key): {key}\n", flush=True)
    return [key]


def build(settings: GatewaySettings, *, bus: EventBus, jobs: JobStore) -> Service:
    keys = ApiKeyVerifier(resolve_api_keys(settings))
    app = create_app(
        settings,
        report=ReportDeps(jobs=jobs, bus=bus, keys=keys),
        checks={"bus": bus.ping, "job_store": jobs.ping},
    )
    bus.subscribe(
        "gateway",
        [routing.JOB_STARTED, routing.JOB_COMPLETED],
        partial(apply_job_event, jobs=jobs),
        concurrency=4,
    )
    return Service(name="gateway", http=app, on_stop=[jobs.close])
