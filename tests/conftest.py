"""Fixtures shared by every lane: where the real servers are, and throwaway namespaces.

A test's folder is its lane and gives its marker: `tests/unit` needs no server,
`tests/integration` talks to the real Redis, RabbitMQ or Postgres of this machine (or the URLs
in the environment), `tests/e2e` starts services as separate processes. Nothing here fakes
Redis, RabbitMQ or Postgres. Suites run in more than one lane (a port's twin in unit, its
real adapter in integration) live in `tests/suites/` and are imported by one small test file
per lane.
"""

from __future__ import annotations

import os
import uuid

import pytest

pytest.register_assert_rewrite("suites")

from pgtools import drop_schema  # imported after the rewrite hook

LANES = ("unit", "integration", "e2e")
# Services built in tests embed with the fast lexical embedder unless a test asks for the
# model (tests/unit/runtime/test_minilm_embedder.py does): CI time, not quality, is at stake.
os.environ.setdefault("EMBEDDING_BACKEND", "hashing")
E2E_TIMEOUT_S = 600  # several processes per test; the global 120 s is for the other lanes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        lane = item.path.relative_to(item.config.rootpath / "tests").parts[0]
        if lane not in LANES:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in tests/unit, tests/integration or tests/e2e")
        item.add_marker(lane)
        if lane == "e2e":
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def unique_name() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
async def pg_schema(database_url, unique_name):
    """A fresh Postgres schema for one test, dropped afterwards."""
    yield unique_name
    await drop_schema(database_url, unique_name)

