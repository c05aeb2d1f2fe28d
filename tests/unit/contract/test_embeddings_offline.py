"""The embeddings contract (tests/suites/embeddings.py) on the offline hashing embedder."""

import pytest
from suites.embeddings import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "hashing"
