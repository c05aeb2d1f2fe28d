"""The adapter root: one set of adapters per process, built from settings on first use,
shared by every service built with it, and closed by the process that built it."""

from __future__ import annotations

from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.embeddings.local import HashingEmbedder
from beacon_runtime.files import InMemoryFileStore
from beacon_runtime.jobs.memory import InMemoryJobStore
from beacon_runtime.settings import ServiceSettings
from beacon_runtime.vectors.edge import EdgeVectorStore


def offline_settings(**values) -> ServiceSettings:
    return ServiceSettings(amqp_url=None, redis_url=None, database_url=None, qdrant_url=None,
                           openai_base_url=None, files_dir=None, vectors_dir=None,
                           embedding_backend="hashing", **values)


async def test_each_adapter_is_built_once_from_settings_and_closed_by_close():
    adapters = Adapters(offline_settings())
    assert isinstance(adapters.bus, InMemoryBus) and adapters.bus is adapters.bus
    assert isinstance(adapters.jobs, InMemoryJobStore) and adapters.jobs is adapters.jobs
    assert isinstance(adapters.embedder, HashingEmbedder)
    assert isinstance(adapters.files, InMemoryFileStore) and adapters.files is adapters.files
    vectors = adapters.vectors
    assert isinstance(vectors, EdgeVectorStore) and vectors is adapters.vectors
    directory = vectors._base  # noqa: SLF001 - a temporary directory, removed on close
    assert directory.exists()
    await adapters.close()
    assert not directory.exists()


async def test_adapters_passed_in_belong_to_the_caller():
    vectors = EdgeVectorStore(None)  # temporary: close() would remove its directory
    bus = InMemoryBus()
    adapters = Adapters(offline_settings(), bus=bus, vectors=vectors)
    assert adapters.bus is bus and adapters.vectors is vectors
    await vectors.ensure_collection("kept", 4)
    await adapters.close()
    assert vectors._base.exists()  # noqa: SLF001
    assert await vectors.count("kept") == 0
    await vectors.close()


def test_the_chat_model_is_the_one_passed_in_or_each_service_s_offline_model():
    from beacon_rag_query.answerer import ExtractiveAnswerer
    from beacon_report_writer.drafter import OfflineDrafter

    offline = Adapters(offline_settings())
    drafter, answerer = OfflineDrafter(), ExtractiveAnswerer()
    assert offline.chat_model(drafter) is drafter and offline.chat_model(answerer) is answerer
    given = ExtractiveAnswerer()
    assert Adapters(offline_settings(), chat_model=given).chat_model(drafter) is given


def test_without_settings_the_environment_decides(monkeypatch):
    monkeypatch.setenv("EMBEDDING_BACKEND", "hashing")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert isinstance(Adapters().embedder, HashingEmbedder)
