"""Composition root of the review service: the one place its dependencies are wired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from beacon_contracts.events import ReviewRequired, utcnow
from beacon_hitl.api import create_app
from beacon_hitl.decisions import ReviewDesk, Sweeper
from beacon_hitl.handlers import handle_review_required
from beacon_hitl.repository import (
    InMemoryReviewRepository,
    PostgresReviewRepository,
    ReviewRepository,
)
from beacon_hitl.settings import HitlSettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.dispatch import subscribe
from beacon_runtime.service import Service

CONSUMER = "hitl"


def build(
    settings: HitlSettings,
    adapters: Adapters,
    *,
    repository: ReviewRepository | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Service:
    """The bus comes from `adapters`. A repository passed in belongs to the caller; one
    built here is migrated on start and closed on stop."""
    bus = adapters.bus
    on_start, on_stop = [], []
    if repository is None:
        repository = build_repository(settings)
        on_start.append(repository.start)  # runs the schema's migrations
        on_stop.append(repository.close)
    desk = ReviewDesk(repository, bus, ttl_s=settings.review_ttl_s,
                      expiry_policy=settings.review_expiry_policy, clock=clock)
    sweeper = Sweeper(desk, settings.review_sweep_interval_s)
    on_start.append(sweeper.start)
    on_stop.append(sweeper.stop)  # hooks stop in reverse: the sweeper before the store

    subscribe(bus, CONSUMER, {ReviewRequired: partial(handle_review_required, desk=desk)},
              concurrency=settings.worker_concurrency)
    return Service(
        name=settings.service_name,
        http=create_app(desk, {"bus": bus.ping, "repository": repository.ping}),
        on_start=on_start,
        on_stop=on_stop,
    )


def build_repository(settings: HitlSettings) -> ReviewRepository:
    if settings.database_url:
        return PostgresReviewRepository(settings.database_url, schema=settings.db_schema,
                                        migrate_on_start=settings.migrate_on_start)
    return InMemoryReviewRepository()
