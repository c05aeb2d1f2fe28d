"""Distributed entry point: `python -m beacon_ingestion.main`."""

from __future__ import annotations

from beacon_runtime.serve import run_service

from beacon_ingestion.bootstrap import build
from beacon_ingestion.settings import IngestionSettings


def run() -> None:
    run_service(IngestionSettings(), build)


if __name__ == "__main__":
    run()
