"""Each worker consumes exactly the command queue every bus declares for it, so a command
published before the worker ever started waits in that queue."""

from __future__ import annotations

import pytest

from beacon_contracts.routing import COMMAND_QUEUES
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus


def _subscriptions(build, settings, **deps) -> dict[str, tuple[str, ...]]:
    bus = InMemoryBus()
    build(settings, Adapters(settings, bus=bus), **deps)
    return {sub.consumer: sub.patterns for sub in bus._subscriptions}


def test_report_writer():
    from beacon_report_writer.bootstrap import build
    from beacon_report_writer.settings import ReportWriterSettings

    subs = _subscriptions(build, ReportWriterSettings())
    assert subs["report-writer"] == COMMAND_QUEUES["report-writer"]


def test_rag_query():
    import httpx

    from beacon_rag_query.bootstrap import build
    from beacon_rag_query.settings import RagQuerySettings

    subs = _subscriptions(build, RagQuerySettings(), ingestion=httpx.AsyncClient())
    assert subs["rag-query"] == COMMAND_QUEUES["rag-query"]


def test_ingestion():
    from beacon_ingestion.bootstrap import build
    from beacon_ingestion.settings import IngestionSettings

    subs = _subscriptions(build, IngestionSettings(ingest_sample_corpus=False))
    assert subs["ingestion"] == COMMAND_QUEUES["ingestion"]


def test_hitl():
    from beacon_hitl.bootstrap import build
    from beacon_hitl.settings import HitlSettings

    subs = _subscriptions(build, HitlSettings())
    assert subs["hitl"] == COMMAND_QUEUES["hitl"]


@pytest.mark.parametrize("consumer", sorted(COMMAND_QUEUES))
def test_every_command_queue_receives_requests(consumer):
    """Job requests, or (for hitl) requests for a review: work someone asked for."""
    assert any(p.startswith("job.requested.") or p == "review.required"
               for p in COMMAND_QUEUES[consumer])
