"""The chat-model contract (tests/suites/chat_model.py) on the OpenAI-compatible adapter,
against a real HTTP server on 127.0.0.1 (tests/fake_openai.py)."""

import pytest
from fake_openai import fake_openai_server
from suites.chat_model import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "openai"


@pytest.fixture(scope="module")
def openai_server():
    with fake_openai_server() as running:
        yield running
