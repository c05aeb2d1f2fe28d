"""The passage-search contract (tests/suites/passage_search.py) on `HttpIngestion` over HTTP
to ingestion's app served on 127.0.0.1 (POST /internal/search), as distributed mode runs it."""

import pytest
from suites.passage_search import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "http"
