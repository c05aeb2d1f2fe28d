"""Distributed entry point: `python -m beacon_rag_query.main`."""

from __future__ import annotations

from beacon_rag_query.bootstrap import build
from beacon_rag_query.settings import RagQuerySettings
from beacon_runtime.factory import build_bus
from beacon_runtime.logs import configure_logging
from beacon_runtime.serve import run as run_process
from beacon_runtime.serve import serve
from beacon_runtime.telemetry import setup_tracing


def run() -> None:
    settings = RagQuerySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    setup_tracing(settings.service_name)
    bus = build_bus(settings)
    service = build(settings, bus=bus)
    run_process(serve(service.http, host=settings.host, port=settings.port, bus=bus, services=[service]))


if __name__ == "__main__":
    run()
