"""The query repository contract (tests/suites/query_repository.py) in memory."""

import pytest
from suites.query_repository import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "memory"
