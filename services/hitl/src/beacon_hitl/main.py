"""Distributed entry point: `python -m beacon_hitl.main`."""

from __future__ import annotations

from beacon_hitl.bootstrap import build
from beacon_hitl.settings import HitlSettings
from beacon_runtime.serve import run_service


def run() -> None:
    run_service(HitlSettings(), build)


if __name__ == "__main__":
    run()
