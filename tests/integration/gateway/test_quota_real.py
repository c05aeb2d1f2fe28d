"""Quotas (tests/suites/quota.py) on Postgres and Redis."""

import pytest
from suites.quota import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "real"
