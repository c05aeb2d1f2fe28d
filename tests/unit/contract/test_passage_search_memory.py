"""The passage-search contract (tests/suites/passage_search.py) on rag-query's in-memory twin
and on the adapter embedded mode uses: `HttpIngestion` bound to ingestion's app in process."""

import pytest
from suites.passage_search import *  # the suite's tests and fixtures


@pytest.fixture(params=["memory", "embedded"])
def backend(request) -> str:
    return request.param
