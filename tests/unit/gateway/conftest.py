import pytest


@pytest.fixture(params=["memory", pytest.param("real", marks=pytest.mark.integration)])
def backend(request) -> str:
    """Research-API tests run on the in-memory twins and on real Postgres and Redis."""
    return request.param
