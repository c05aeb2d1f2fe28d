"""Distributed entry point: `python -m beacon_report_writer.main`."""

from __future__ import annotations

from beacon_report_writer.bootstrap import build
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.serve import run_service


def run() -> None:
    run_service(ReportWriterSettings(), build)


if __name__ == "__main__":
    run()
