"""Embedded mode: every service in one process, sharing one bus.

With no AMQP_URL/REDIS_URL/DATABASE_URL/... set, every port gets its in-process twin and
`make dev` needs no server at all. Setting a URL swaps that port for the real adapter, even
here. Services still talk to each other only through the bus and HTTP: internal APIs are
called in process through httpx's ASGI transport.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import httpx

from beacon_gateway.bootstrap import build as build_gateway
from beacon_gateway.settings import GatewaySettings
from beacon_hitl.bootstrap import build as build_hitl
from beacon_hitl.settings import HitlSettings
from beacon_ingestion.bootstrap import build as build_ingestion
from beacon_ingestion.settings import IngestionSettings
from beacon_rag_query.bootstrap import build as build_rag_query
from beacon_rag_query.settings import RagQuerySettings
from beacon_report_writer.bootstrap import build as build_report_writer
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.factory import build_bus, build_job_store
from beacon_runtime.logs import configure_logging
from beacon_runtime.serve import run as run_process
from beacon_runtime.serve import serve
from beacon_runtime.service import Service
from beacon_runtime.telemetry import setup_tracing


def build_stack(gateway_settings: GatewaySettings) -> tuple[object, list[Service]]:
    """The whole system around one bus; the gateway's app is the process's HTTP app."""
    bus = build_bus(gateway_settings)
    ingestion = build_ingestion(IngestionSettings(), bus=bus)
    ingestion_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ingestion.http), base_url="http://ingestion", timeout=30
    )
    rag_query = build_rag_query(RagQuerySettings(), bus=bus, ingestion=ingestion_client)
    rag_query.on_stop.append(ingestion_client.aclose)
    report_writer = build_report_writer(ReportWriterSettings(), bus=bus)
    hitl = build_hitl(HitlSettings(), bus=bus)
    gateway = build_gateway(
        gateway_settings,
        bus=bus,
        jobs=build_job_store(gateway_settings),
        internal_apps={"ingestion": ingestion.http, "rag-query": rag_query.http,
                       "hitl": hitl.http, "report-writer": report_writer.http},
    )
    return bus, [ingestion, rag_query, report_writer, hitl, gateway]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Only --help: settings come from the environment. Parsed before anything is built, so
    `beacon-dev --help` prints and exits without starting a server."""
    parser = argparse.ArgumentParser(
        prog="beacon-dev",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings are environment variables: HOST (127.0.0.1), PORT (8000), LOG_LEVEL, "
        "API_KEYS, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, OPENAI_BASE_URL, and the URLs above.",
    )
    return parser.parse_args(argv)


def run(argv: Sequence[str] | None = None) -> None:
    parse_args(argv)
    settings = GatewaySettings()
    configure_logging("embedded", settings.log_level, settings.log_json)
    setup_tracing("beacon-embedded")
    bus, services = build_stack(settings)
    gateway = services[-1]
    run_process(serve(gateway.http, host=settings.host, port=settings.port, bus=bus, services=services))


if __name__ == "__main__":
    run()
