"""Composition root of the gateway: the one place its dependencies are wired."""

from __future__ import annotations

import secrets
from functools import partial

from beacon_contracts.events import JobCompleted, JobKind, JobStarted, QueryFrame
from beacon_gateway.api.app import create_app
from beacon_gateway.api.forward import upstream_clients
from beacon_gateway.api.policy import ResearchDeps
from beacon_gateway.api.query import QueryDeps
from beacon_gateway.api.report import ReportDeps
from beacon_gateway.api_keys import ApiKeyVerifier
from beacon_gateway.auth import AuthService
from beacon_gateway.frames import FrameLog, InMemoryFrameLog, RedisFrameLog
from beacon_gateway.handlers import append_query_frame, apply_job_event
from beacon_gateway.ratelimit import RateLimiter
from beacon_gateway.repository import (
    EmailTaken,
    IdentityRepository,
    InMemoryIdentityRepository,
    PostgresIdentityRepository,
    Role,
)
from beacon_gateway.revocations import InMemoryRevocations, RedisRevocations, Revocations
from beacon_gateway.settings import GatewaySettings
from beacon_gateway.watchdog import JobCanceller, Watchdog
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.dispatch import subscribe
from beacon_runtime.logs import get_logger
from beacon_runtime.service import Service

log = get_logger(__name__)


def resolve_api_keys(settings: GatewaySettings) -> list[str]:
    """API_KEYS, or in embedded mode a fresh key printed once so a developer can use it.
    Distributed deployments may also rely only on keys admins create (stored hashed)."""
    keys = settings.api_key_list()
    if keys or not settings.embedded:
        return keys
    key = "dev-" + secrets.token_urlsafe(24)
    print(f"\n  Report API key for this run (X-API-Key): {key}\n", flush=True)
    return [key]


def resolve_jwt_secret(settings: GatewaySettings) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if not settings.embedded:
        raise RuntimeError("JWT_SECRET must be set when the gateway runs distributed")
    # Embedded: tokens simply die with the process.
    return secrets.token_urlsafe(48)


def build(
    settings: GatewaySettings,
    adapters: Adapters,
    *,
    identity: IdentityRepository | None = None,
    limiter: RateLimiter | None = None,
    internal_apps: dict[str, object] | None = None,
    frames: FrameLog | None = None,
    revocations: Revocations | None = None,
) -> Service:
    """The bus and the job store come from `adapters` (the process closes them); the
    gateway's own stores (identity, rate limits, frames, revocations) follow DATABASE_URL
    and REDIS_URL here, and are closed on stop."""
    bus, jobs = adapters.bus, adapters.jobs
    if identity is None:
        identity = (
            PostgresIdentityRepository(settings.database_url, settings.db_schema,
                                       migrate_on_start=settings.migrate_on_start)
            if settings.database_url
            else InMemoryIdentityRepository()
        )
    limiter = limiter or RateLimiter(settings.redis_url, namespace=settings.redis_namespace)
    if frames is None:
        frames = (
            RedisFrameLog(settings.redis_url, namespace=settings.redis_namespace,
                          ttl_s=settings.frame_ttl_s)
            if settings.redis_url
            else InMemoryFrameLog()
        )
    if revocations is None:
        ttl = settings.access_token_ttl_s
        revocations = (
            RedisRevocations(settings.redis_url, namespace=settings.redis_namespace, ttl_s=ttl)
            if settings.redis_url
            else InMemoryRevocations(ttl)
        )
    auth = AuthService(
        identity,
        secret=resolve_jwt_secret(settings),
        access_ttl_s=settings.access_token_ttl_s,
        refresh_ttl_s=settings.refresh_token_ttl_s,
        argon2_time_cost=settings.argon2_time_cost,
        argon2_memory_kib=settings.argon2_memory_kib,
        revocations=revocations,
    )
    keys = ApiKeyVerifier(resolve_api_keys(settings), identity, settings.api_key_cache_s)
    upstreams = upstream_clients(
        {"ingestion": settings.ingestion_url, "rag-query": settings.rag_query_url,
         "hitl": settings.hitl_url, "report-writer": settings.report_writer_url},
        internal_apps or {},
        settings.upstream_timeout_s,
    )
    canceller = JobCanceller(jobs, bus)
    watchdog = Watchdog(
        jobs, canceller, stall_timeout_s=settings.job_stall_timeout_s,
        interval_s=settings.job_watchdog_interval_s,
        kinds=[JobKind(kind) for kind in settings.watched_kinds()],
    )
    app = create_app(
        settings,
        report=ReportDeps(jobs=jobs, bus=bus, keys=keys, canceller=canceller),
        research=ResearchDeps(auth=auth, limiter=limiter, settings=settings),
        query=QueryDeps(jobs=jobs, bus=bus, frames=frames, pending_cancels=set(),
                        canceller=canceller),
        upstreams=upstreams,
        checks={"bus": bus.ping, "job_store": jobs.ping, "database": identity.ping,
                "rate_limits": limiter.ping},
    )
    apply = partial(apply_job_event, jobs=jobs, watched=watchdog.kinds)
    # once=False: monotonic transitions, so a duplicate event changes nothing.
    subscribe(bus, "gateway", {JobStarted: apply, JobCompleted: apply},
              concurrency=settings.worker_concurrency, once=False)
    # Frames get their own queue so a long answer never delays job-status updates; its
    # readers drop duplicate frames.
    subscribe(bus, "gateway-frames", {QueryFrame: partial(append_query_frame, frames=frames)},
              concurrency=settings.worker_concurrency, once=False)

    async def start() -> None:
        await identity.start()
        await ensure_dev_admin(settings, auth)
        await watchdog.start()

    async def stop() -> None:
        await watchdog.stop()
        await canceller.close()
        for client in upstreams.values():
            await client.aclose()
        await identity.close()
        await revocations.close()
        await frames.close()

    return Service(name="gateway", http=app, on_start=[start], on_stop=[stop])


async def ensure_dev_admin(settings: GatewaySettings, auth: AuthService) -> None:
    """DEV_ADMIN_EMAIL / DEV_ADMIN_PASSWORD: the first admin, created once at start-up."""
    if not (settings.dev_admin_email and settings.dev_admin_password):
        return
    try:
        await auth.create_user(
            settings.dev_admin_email, settings.dev_admin_password.get_secret_value(),
            "Administrator", Role.ADMIN, settings.default_daily_query_limit,
        )
        log.info("identity.dev_admin_created", email=settings.dev_admin_email)
    except EmailTaken:
        pass

