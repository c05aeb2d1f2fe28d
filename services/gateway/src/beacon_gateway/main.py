"""Distributed entry point: `python -m beacon_gateway.main`."""

from __future__ import annotations

from beacon_gateway.bootstrap import build
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.serve import run_service


def run() -> None:
    run_service(GatewaySettings(), build)


if __name__ == "__main__":
    run()
