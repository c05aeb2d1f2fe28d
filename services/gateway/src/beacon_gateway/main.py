"""Distributed entry point: `python -m beacon_gateway.main`."""

from __future__ import annotations

from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.adapters import build_job_store
from beacon_runtime.serve import run_service


def run() -> None:
    run_service(GatewaySettings(), lambda settings, bus: build(settings, bus=bus, jobs=build_job_store(settings)))


if __name__ == "__main__":
    run()
