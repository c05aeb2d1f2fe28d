"""The ingestion repository contract (tests/suites/ingestion_repository.py) in memory."""

import pytest
from suites.ingestion_repository import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "memory"
