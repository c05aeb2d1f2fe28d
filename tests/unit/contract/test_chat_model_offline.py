"""The chat-model contract (tests/suites/chat_model.py) on both offline twins."""

import pytest
from suites.chat_model import *  # the suite's tests and fixtures


@pytest.fixture(params=["offline-drafter", "extractive"])
def backend(request) -> str:
    return request.param
