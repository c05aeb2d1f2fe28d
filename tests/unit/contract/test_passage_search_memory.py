"""The passage-search contract (tests/suites/passage_search.py) on rag-query's in-memory twin
and on the adapter embedded mode uses: `HttpIngestion` bound to ingestion's app in process."""

from suites.passage_search import *  # the suite's tests and fixtures

BACKENDS = ["memory", "embedded"]  # `backend` of each case (the suite's pytest_generate_tests)
