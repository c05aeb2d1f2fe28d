"""The review repository contract (tests/suites/review_repository.py) in memory."""

import pytest
from suites.review_repository import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "memory"
