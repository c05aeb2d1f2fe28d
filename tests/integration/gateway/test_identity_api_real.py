"""The identity API (tests/suites/identity_api.py) on Postgres and Redis."""

import pytest
from suites.identity_api import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "real"
