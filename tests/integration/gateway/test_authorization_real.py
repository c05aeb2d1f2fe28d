"""The authorization matrix (tests/suites/authorization.py) on Postgres and Redis."""

import pytest
from suites.authorization import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "real"
