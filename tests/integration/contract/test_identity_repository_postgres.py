"""The identity repository contract (tests/suites/identity_repository.py) on Postgres."""

import pytest
from suites.identity_repository import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "postgres"
