"""Composition root of the report writer: the one place its dependencies are wired."""

from __future__ import annotations

import os
import socket
from functools import partial

from beacon_contracts.commands import GenerateSection, RefineSection
from beacon_report_writer.api import create_health_app
from beacon_report_writer.drafter import OfflineDrafter
from beacon_report_writer.graph import build_graph
from beacon_report_writer.handlers import handle_section
from beacon_report_writer.repository import (
    InMemorySessionDrafts,
    RedisSessionDrafts,
    SessionDrafts,
)
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.bus.dispatch import subscribe
from beacon_runtime.bus.port import EventBus
from beacon_runtime.adapters import build_chat_model
from beacon_runtime.llm.port import ChatModel
from beacon_runtime.service import Service

CONSUMER = "report-writer"


def build(
    settings: ReportWriterSettings,
    *,
    bus: EventBus,
    chat_model: ChatModel | None = None,
    drafts: SessionDrafts | None = None,
) -> Service:
    """Adapters passed in belong to the caller; the ones built here are closed on stop."""
    owned: list[ChatModel | SessionDrafts] = []
    if chat_model is None:
        chat_model = build_chat_model(settings, offline=OfflineDrafter())
        owned.append(chat_model)
    if drafts is None:
        drafts = build_session_drafts(settings)
        owned.append(drafts)

    draft = partial(
        handle_section,
        bus=bus,
        graph=build_graph(chat_model, drafts),
        worker_name=f"{settings.service_name}@{socket.gethostname()}:{os.getpid()}",
    )
    subscribe(bus, CONSUMER, {GenerateSection: draft, RefineSection: draft},
              concurrency=settings.worker_concurrency)
    return Service(
        name=settings.service_name,
        http=create_health_app({"bus": bus.ping, "session_drafts": drafts.ping}),
        on_stop=[adapter.close for adapter in owned],
    )


def build_session_drafts(settings: ReportWriterSettings) -> SessionDrafts:
    if settings.redis_url:
        return RedisSessionDrafts(
            settings.redis_url, namespace=settings.redis_namespace, ttl_s=settings.session_ttl_s
        )
    return InMemorySessionDrafts(ttl_s=settings.session_ttl_s)
