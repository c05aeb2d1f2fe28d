"""Composition root of the report writer: the one place its dependencies are wired."""

from __future__ import annotations

import os
import socket
from functools import partial

import httpx

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
from beacon_report_writer.sources import HttpMaterialSource, MaterialSource, NoMaterialSource
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.dispatch import subscribe
from beacon_runtime.service import Service

CONSUMER = "report-writer"


def build(
    settings: ReportWriterSettings,
    adapters: Adapters,
    *,
    drafts: SessionDrafts | None = None,
    ingestion: httpx.AsyncClient | None = None,
    material: MaterialSource | None = None,
) -> Service:
    """The bus and the chat model come from `adapters` (offline: the drafter). Session
    drafts and material passed in belong to the caller; the ones built here are closed on
    stop. `ingestion`: a client for ingestion's internal API (embedded mode binds it to its
    app); without one, INGESTION_URL; without that, no material can be reached."""
    bus = adapters.bus
    chat_model = adapters.chat_model(offline=OfflineDrafter())
    owned: list[SessionDrafts | MaterialSource] = []
    if drafts is None:
        drafts = build_session_drafts(settings)
        owned.append(drafts)
    if material is None:
        material = build_material_source(settings, ingestion)
        owned.append(material)

    draft = partial(
        handle_section,
        bus=bus,
        graph=build_graph(chat_model, drafts, material,
                          passages_per_topic=settings.passages_per_topic),
        worker_name=f"{settings.service_name}@{socket.gethostname()}:{os.getpid()}",
    )
    subscribe(bus, CONSUMER, {GenerateSection: draft, RefineSection: draft},
              concurrency=settings.worker_concurrency)
    return Service(
        name=settings.service_name,
        http=create_health_app({"bus": bus.ping, "session_drafts": drafts.ping}),
        on_stop=[adapter.close for adapter in owned],
    )


def build_material_source(
    settings: ReportWriterSettings, ingestion: httpx.AsyncClient | None
) -> MaterialSource:
    if ingestion is not None:
        return HttpMaterialSource(ingestion)
    if settings.ingestion_url:
        client = httpx.AsyncClient(base_url=settings.ingestion_url, timeout=settings.ingestion_timeout_s)
        return HttpMaterialSource(client, owned=True)
    return NoMaterialSource()


def build_session_drafts(settings: ReportWriterSettings) -> SessionDrafts:
    if settings.redis_url:
        return RedisSessionDrafts(
            settings.redis_url, namespace=settings.redis_namespace, ttl_s=settings.session_ttl_s
        )
    return InMemorySessionDrafts(ttl_s=settings.session_ttl_s)
