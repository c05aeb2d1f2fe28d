"""Pick each port's adapter from settings: a URL selects the real adapter, none the twin.

Real adapters are imported only when selected, so embedded mode never loads broker clients.
"""

from __future__ import annotations

from beacon_contracts.routing import COMMAND_QUEUES
from beacon_runtime.bus.once import InMemoryProcessedEvents, OncePolicy, ProcessedEvents
from beacon_runtime.bus.port import EventBus, RetryPolicy
from beacon_runtime.jobs.port import JobStore
from beacon_runtime.llm.port import ChatModel
from beacon_runtime.settings import ServiceSettings


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
            max_concurrency=settings.llm_max_concurrency,
        )
    return offline
