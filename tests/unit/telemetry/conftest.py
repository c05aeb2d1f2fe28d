import pytest
from spantools import capture_spans


@pytest.fixture
def spans():
    with capture_spans() as captured:
        yield captured
