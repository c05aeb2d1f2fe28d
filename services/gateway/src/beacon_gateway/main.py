"""Distributed entry point: `python -m beacon_gateway.main`."""

from __future__ import annotations

from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.factory import build_bus, build_job_store
from beacon_runtime.logs import configure_logging
from beacon_runtime.telemetry import setup_tracing
from beacon_runtime.serve import run as run_process
from beacon_runtime.serve import serve


def run() -> None:
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    setup_tracing(settings.service_name)
    bus = build_bus(settings)
    service = build(settings, bus=bus, jobs=build_job_store(settings))
    run_process(serve(service.http, host=settings.host, port=settings.port, bus=bus, services=[service]))


if __name__ == "__main__":
    run()
