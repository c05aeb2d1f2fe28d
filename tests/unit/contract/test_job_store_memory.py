"""The job store contract (tests/suites/job_store.py) on the in-memory twin."""

import pytest
from suites.job_store import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "memory"
