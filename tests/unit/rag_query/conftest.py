"""Fixtures of the rag-query unit tests; the data and harness live in rag_harness.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rag_harness import Harness, start_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async for h in start_harness():
        yield h
