"""Quotas (tests/suites/quota.py) on the in-memory twins."""

import pytest
from suites.quota import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "memory"
