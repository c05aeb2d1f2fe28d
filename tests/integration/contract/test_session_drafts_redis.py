"""The session-drafts contract (tests/suites/session_drafts.py) on the real Redis."""

import pytest
from suites.session_drafts import *  # the suite's tests and fixtures


@pytest.fixture
def backend() -> str:
    return "redis"


async def test_ping_is_false_when_redis_is_unreachable():
    from beacon_report_writer.repository import RedisSessionDrafts

    drafts = RedisSessionDrafts("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        assert await drafts.ping() is False
    finally:
        await drafts.close()
