"""The session-drafts contract (tests/suites/session_drafts.py) on the in-memory twin, and
its expiry on an injected clock."""

import pytest
from suites.session_drafts import *  # the suite's tests and fixtures
from suites.session_drafts import OWNER, TTL_S, FakeClock, md

from beacon_report_writer.repository import InMemorySessionDrafts


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_a_session_expires_ttl_after_its_last_save():
    clock = FakeClock()
    drafts = InMemorySessionDrafts(ttl_s=TTL_S, clock=clock)
    await drafts.save(OWNER, "s1", "Appendix", md("one"))
    clock.now += TTL_S - 1
    await drafts.save(OWNER, "s1", "Executive Summary", md("two"))  # restarts the time to live
    clock.now += TTL_S - 1
    assert set(await drafts.load(OWNER, "s1")) == {"Appendix", "Executive Summary"}
    clock.now += 1
    assert await drafts.load(OWNER, "s1") == {}
