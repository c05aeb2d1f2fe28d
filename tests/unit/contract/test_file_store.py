"""The file-store contract (tests/suites/file_store.py) on memory and on a directory."""

import pytest
from suites.file_store import *  # the suite's tests and fixtures


@pytest.fixture(params=["memory", "directory"])
def backend(request) -> str:
    return request.param
