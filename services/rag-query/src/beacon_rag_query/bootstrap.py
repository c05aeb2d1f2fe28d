"""Composition root of rag-query: the one place its dependencies are wired."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import date
from functools import partial

import httpx

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import JobCancelled, ReviewResolved
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.api import create_app
from beacon_rag_query.frames import CancelRegistry
from beacon_rag_query.graph import Deps, GraphConfig, build_graph
from beacon_rag_query.handlers import (
    QueryRunner,
    handle_job_cancelled,
    handle_question,
    handle_review_resolved,
)
from beacon_rag_query.repository import (
    InMemoryQueryRepository,
    PostgresQueryRepository,
    QueryRepository,
)
from beacon_rag_query.settings import RagQuerySettings
from beacon_rag_query.sources import (
    CachedCatalogue,
    CompanyCatalogue,
    FundamentalsSource,
    HttpIngestion,
    PassageSearch,
)
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.dispatch import subscribe
from beacon_runtime.service import Service

CONSUMER = "rag-query"


def cancel_consumer(instance_id: str) -> str:
    """Each replica hears every cancellation: the query may be running on any of them."""
    return f"{CONSUMER}-cancel-{instance_id}"


def build(
    settings: RagQuerySettings,
    adapters: Adapters,
    *,
    ingestion: httpx.AsyncClient | None = None,
    search: PassageSearch | None = None,
    catalogue: CompanyCatalogue | None = None,
    fundamentals: FundamentalsSource | None = None,
    repository: QueryRepository | None = None,
    instance_id: str | None = None,
    today: Callable[[], date] = date.today,
    cancels: CancelRegistry | None = None,
) -> Service:
    """`ingestion` is an httpx client for the ingestion service's internal API (in embedded
    mode bound to its app with httpx.ASGITransport); without one, INGESTION_URL is used.
    The bus and the chat model (offline: the extractive answerer) come from `adapters`.
    Sources and the repository passed in belong to the caller; those built here are closed
    on stop."""
    bus = adapters.bus
    chat_model = adapters.chat_model(offline=ExtractiveAnswerer())
    owned_closers, owned_starters = [], []
    if search is None or catalogue is None or fundamentals is None:
        if ingestion is None:
            if not settings.ingestion_url:
                raise RuntimeError("rag-query needs INGESTION_URL or an ingestion client")
            ingestion = httpx.AsyncClient(
                base_url=settings.ingestion_url, timeout=settings.ingestion_timeout_s
            )
            owned_closers.append(ingestion.aclose)
        remote = HttpIngestion(ingestion)
        search = search or remote
        catalogue = catalogue or CachedCatalogue(remote, ttl_s=settings.company_cache_ttl_s)
        fundamentals = fundamentals or remote
    if repository is None:
        repository = build_repository(settings)
        owned_starters.append(repository.start)  # runs the schema's migrations
        owned_closers.append(repository.close)

    graph = build_graph(Deps(
        search=search, catalogue=catalogue, fundamentals=fundamentals, chat_model=chat_model,
        today=today, config=GraphConfig(
            retrieve_limit=settings.retrieve_limit,
            min_relevant=settings.min_relevant,
            max_rewrites=settings.max_rewrites,
            max_context_passages=settings.max_context_passages,
            sensitive_topics=tuple(settings.sensitive_topic_list()),
            token_flush_chars=settings.token_flush_chars,
            token_flush_ms=settings.token_flush_ms,
            relevance_threshold=settings.relevance_threshold,
        ),
    ))
    cancels = cancels or CancelRegistry()
    instance_id = instance_id or uuid.uuid4().hex[:12]
    runner = QueryRunner(
        bus=bus, repository=repository, graph=graph, cancels=cancels,
        worker_name=f"{settings.service_name}@{socket.gethostname()}:{os.getpid()}",
        faithfulness_threshold=settings.faithfulness_threshold,
    )
    subscribe(bus, CONSUMER, {
        AnswerQuestion: partial(handle_question, runner=runner),
        ReviewResolved: partial(handle_review_resolved, runner=runner),
    }, concurrency=settings.worker_concurrency)
    subscribe(
        bus, cancel_consumer(instance_id), {JobCancelled: partial(handle_job_cancelled, cancels=cancels)},
        transient=True,  # every replica hears every cancel; the queue dies with the replica
    )
    return Service(
        name=settings.service_name,
        http=create_app(repository, {"bus": bus.ping, "repository": repository.ping}),
        on_start=owned_starters,
        on_stop=owned_closers,
    )


def build_repository(settings: RagQuerySettings) -> QueryRepository:
    if settings.database_url:
        return PostgresQueryRepository(settings.database_url, schema=settings.db_schema,
                                       migrate_on_start=settings.migrate_on_start)
    return InMemoryQueryRepository()
