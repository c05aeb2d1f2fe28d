"""The ingestion repository contract (tests/suites/ingestion_repository.py) on Postgres."""

import pytest
from suites.ingestion_repository import *  # the suite's tests and fixtures
from suites.ingestion_repository import DATABASE_URL, new_doc


@pytest.fixture
def backend() -> str:
    return "postgres"


async def test_a_hold_ends_when_its_holders_connection_dies(pg_session_schema):
    """A crashed worker's hold must not outlive it: the lock lives on the holder's session."""
    from beacon_ingestion.repository.postgres import PostgresIngestionRepository
    from pgtools_ingestion import terminate_lock_holder

    a, b = (PostgresIngestionRepository(DATABASE_URL, pg_session_schema) for _ in range(2))
    await a.start(migrate=False)
    await b.start(migrate=False)
    try:
        doc = await a.create_document(new_doc())
        holder = a.hold(doc.id)
        assert await holder.__aenter__()
        async with b.hold(doc.id) as held:
            assert not held
        assert await terminate_lock_holder(DATABASE_URL, a.lock_key(doc.id)) == 1
        async with b.hold(doc.id) as held:
            assert held
    finally:
        await a.close()
        await b.close()
