"""Embedded mode: every service in one process, sharing one bus.

With no AMQP_URL/REDIS_URL/DATABASE_URL/... set, every port gets its in-process twin and
`make dev` needs no server at all. Setting a URL swaps that port for the real adapter, even
here. Services still talk to each other only through the bus and HTTP: internal APIs are
called in process through httpx's ASGI transport.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TypeVar

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
from beacon_runtime.adapters import Adapters
from beacon_runtime.logs import configure_logging
from beacon_runtime.serve import run as run_process
from beacon_runtime.serve import serve
from beacon_runtime.service import Service
from beacon_runtime.settings import ServiceSettings
from beacon_runtime.telemetry import setup_tracing


S = TypeVar("S", bound=ServiceSettings)


def own_settings(settings: S) -> S:
    """A service's settings with a Postgres schema of its own. The process has one
    environment for every service, so a DB_SCHEMA set there is a prefix here:
    `<DB_SCHEMA>_<the service's default>` (`dev_gateway`, `dev_ingestion`, ...). Without it,
    each keeps its default. Either way no two services share tables or an Alembic version
    table (two "0001" revisions in one version table would skip the second's tables)."""
    default = type(settings).model_fields["db_schema"].default
    if default is None or "db_schema" not in settings.model_fields_set or settings.db_schema == default:
        return settings
    return settings.model_copy(update={"db_schema": f"{settings.db_schema}_{default}"})


def build_stack(gateway_settings: GatewaySettings) -> tuple[Adapters, list[Service]]:
    """The whole system around one set of adapters (one bus, one job store, one vector
    store, ...), each service with its own settings; the gateway's app is the process's HTTP
    app."""
    gateway_settings = own_settings(gateway_settings)
    adapters = Adapters(gateway_settings)
    ingestion = build_ingestion(own_settings(IngestionSettings()), adapters)
    ingestion_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ingestion.http), base_url="http://ingestion", timeout=30
    )
    rag_query = build_rag_query(own_settings(RagQuerySettings()), adapters, ingestion=ingestion_client)
    rag_query.on_stop.append(ingestion_client.aclose)
    report_writer = build_report_writer(ReportWriterSettings(), adapters, ingestion=ingestion_client)
    hitl = build_hitl(own_settings(HitlSettings()), adapters)
    gateway = build_gateway(
        gateway_settings,
        adapters,
        internal_apps={"ingestion": ingestion.http, "rag-query": rag_query.http,
                       "hitl": hitl.http, "report-writer": report_writer.http},
    )
    return adapters, [ingestion, rag_query, report_writer, hitl, gateway]


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
    adapters, services = build_stack(settings)
    gateway = services[-1]
    run_process(serve(gateway.http, host=settings.host, port=settings.port, adapters=adapters,
                      services=services))


if __name__ == "__main__":
    run()
