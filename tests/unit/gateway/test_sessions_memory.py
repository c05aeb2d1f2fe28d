"""Sessions (tests/suites/sessions.py) on the in-memory twins, and the twin's expiry."""

import pytest
from suites.sessions import *  # the suite's tests and fixtures

from beacon_gateway.revocations import InMemoryRevocations


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_memory_entries_live_as_long_as_a_token_can():
    now = [1000.0]
    revocations = InMemoryRevocations(ttl_s=60, clock=lambda: now[0])
    await revocations.revoke_family("f1")
    await revocations.revoke_user(7, up_to=1000)
    assert await revocations.is_revoked("f1", 1, issued_at=990)
    assert await revocations.is_revoked("f2", 7, issued_at=1000)
    assert not await revocations.is_revoked("f2", 7, issued_at=1001), "issued after the revocation"
    now[0] = 1060.5  # every token issued before the revocation has expired by now
    assert not await revocations.is_revoked("f1", 1, issued_at=990)
    assert not await revocations.is_revoked("f2", 7, issued_at=1000)
