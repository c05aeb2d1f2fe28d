"""The passage-search contract (tests/suites/passage_search.py) on `HttpIngestion` over HTTP
to ingestion's app served on 127.0.0.1 (POST /internal/search), as distributed mode runs it."""

from suites.passage_search import *  # the suite's tests and fixtures

BACKENDS = ["http"]  # `backend` of each case (the suite's pytest_generate_tests)
