"""The bus contract (tests/suites/bus.py) on RabbitMQ."""

import pytest
from suites.bus import *  # the suite's tests and fixtures
from suites.bus_harness import harness  # noqa: F401


@pytest.fixture
def backend() -> str:
    return "rabbit"
