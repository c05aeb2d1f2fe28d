"""Embedded mode: every service in one process, sharing one bus.

With no AMQP_URL/REDIS_URL/... set, every port gets its in-process twin and `make dev` needs
no server at all. Setting a URL swaps that port for the real adapter, even here.
"""

from __future__ import annotations

import asyncio

from beacon_gateway.bootstrap import build as build_gateway
from beacon_gateway.settings import GatewaySettings
from beacon_report_writer.bootstrap import build as build_report_writer
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.factory import build_bus, build_job_store
from beacon_runtime.logs import configure_logging
from beacon_runtime.telemetry import setup_tracing
from beacon_runtime.serve import serve


def run() -> None:
    gateway_settings = GatewaySettings()
    configure_logging("embedded", gateway_settings.log_level, gateway_settings.log_json)
    setup_tracing("beacon-embedded")
    bus = build_bus(gateway_settings)
    services = [
        build_gateway(gateway_settings, bus=bus, jobs=build_job_store(gateway_settings)),
        build_report_writer(ReportWriterSettings(), bus=bus),
    ]
    asyncio.run(
        serve(
            services[0].http,
            host=gateway_settings.host,
            port=gateway_settings.port,
            bus=bus,
            services=services,
        )
    )


if __name__ == "__main__":
    run()
