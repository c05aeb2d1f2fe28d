"""The processed-events ledger contract (tests/suites/processed_events.py) on Redis."""

import pytest
from suites.processed_events import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "redis"
