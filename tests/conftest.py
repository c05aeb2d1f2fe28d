"""Fixtures shared by every lane: where the real servers are, and throwaway namespaces.

Integration and e2e tests use the servers on this machine (or the URLs in the environment);
nothing here fakes Redis, RabbitMQ or Postgres.
"""

from __future__ import annotations

import os
import uuid

import pytest

from pgtools import drop_schema


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

