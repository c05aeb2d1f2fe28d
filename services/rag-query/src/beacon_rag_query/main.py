"""Distributed entry point: `python -m beacon_rag_query.main`."""

from __future__ import annotations

from beacon_rag_query.bootstrap import build
from beacon_rag_query.settings import RagQuerySettings
from beacon_runtime.serve import run_service


def run() -> None:
    run_service(RagQuerySettings(), build)


if __name__ == "__main__":
    run()
