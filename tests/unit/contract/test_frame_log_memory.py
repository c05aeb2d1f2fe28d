"""The SSE frame log contract (tests/suites/frame_log.py) on the in-memory twin."""

import pytest
from suites.frame_log import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "memory"
