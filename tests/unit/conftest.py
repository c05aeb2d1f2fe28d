"""The unit lane needs no server: asking for one here is a test in the wrong folder."""

import pytest


def _no_server(name: str):
    @pytest.fixture(name=name, scope="session")
    def fixture() -> str:
        raise pytest.UsageError(f"{name}: a unit test needs no server; move it to tests/integration")

    return fixture


database_url = _no_server("database_url")
redis_url = _no_server("redis_url")
amqp_url = _no_server("amqp_url")
