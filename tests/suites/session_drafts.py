"""One contract for both session-draft stores (report-writer): a session's latest sections
(markdown and footnotes), replaced per title, kept `ttl_s` after the last save, and nothing
shared between sessions or between owners (API-key records) that use the same Session-Id. Run by tests/unit/contract (memory) and tests/integration/contract (Redis)."""

from __future__ import annotations

import pytest

from beacon_report_writer.repository import (
    InMemorySessionDrafts,
    RedisSessionDrafts,
    SavedSection,
    session_key,
)

TTL_S = 600
OWNER = "key:1"


def md(text: str) -> SavedSection:
    return SavedSection(markdown=text)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(backend, request, unique_name):
    """(drafts, remaining_ttl(session_id) -> seconds or None)."""
    if backend == "memory":
        clock = FakeClock()
        drafts = InMemorySessionDrafts(ttl_s=TTL_S, clock=clock)

        def remaining(session_id: str) -> float | None:
            entry = drafts._sessions.get(session_key(OWNER, session_id))
            return None if entry is None else entry[0] - clock()

        yield drafts, remaining
        return
    import redis.asyncio as redis

    redis_url = request.getfixturevalue("redis_url")
    drafts = RedisSessionDrafts(redis_url, namespace=unique_name, ttl_s=TTL_S)
    client = redis.from_url(redis_url)
    ttls: dict[str, float | None] = {}

    def remaining(session_id: str) -> float | None:
        return ttls.get(session_id)

    async def refresh(session_id: str) -> None:
        ms = await client.pttl(f"{unique_name}:session:{session_key(OWNER, session_id)}")
        ttls[session_id] = None if ms < 0 else ms / 1000

    remaining.refresh = refresh  # type: ignore[attr-defined]
    yield drafts, remaining
    async for key in client.scan_iter(match=f"{unique_name}:*"):
        await client.delete(key)
    await client.aclose()
    await drafts.close()


async def _ttl(remaining, session_id: str) -> float | None:
    if hasattr(remaining, "refresh"):
        await remaining.refresh(session_id)
    return remaining(session_id)


async def test_an_unknown_session_has_no_sections(store):
    drafts, _ = store
    assert await drafts.load(OWNER, "nobody") == {}


async def test_sections_are_kept_per_title_and_replaced_by_a_new_draft(store):
    drafts, _ = store
    await drafts.save(OWNER, "s1", "Executive Summary", md("## Executive Summary\n\nv1"))
    await drafts.save(OWNER, "s1", "Technology Stack", md("## Technology Stack\n\nPython"))
    await drafts.save(OWNER, "s1", "Executive Summary", md("## Executive Summary\n\nv2"))
    assert await drafts.load(OWNER, "s1") == {
        "Executive Summary": md("## Executive Summary\n\nv2"),
        "Technology Stack": md("## Technology Stack\n\nPython"),
    }


async def test_sessions_do_not_see_each_other(store):
    drafts, _ = store
    await drafts.save(OWNER, "s1", "Appendix", md("one"))
    await drafts.save(OWNER, "s2", "Appendix", md("two"))
    assert await drafts.load(OWNER, "s1") == {"Appendix": md("one")}
    assert await drafts.load(OWNER, "s2") == {"Appendix": md("two")}


async def test_owners_do_not_see_each_others_sessions(store):
    drafts, _ = store
    await drafts.save(OWNER, "s1", "Appendix", md("mine"))
    assert await drafts.load("key:2", "s1") == {}
    await drafts.save("key:2", "s1", "Appendix", md("theirs"))
    assert await drafts.load(OWNER, "s1") == {"Appendix": md("mine")}


async def test_footnotes_come_back_with_the_text(store):
    drafts, _ = store
    section = SavedSection(markdown="RFP due 1 March [^1]", citations=[{"index": 1, "page_number": 3}])
    await drafts.save(OWNER, "s1", "Appendix", section)
    assert await drafts.load(OWNER, "s1") == {"Appendix": section}


async def test_text_comes_back_exactly(store):
    drafts, _ = store
    text = "## Risks & Mitigations\n\n- Ü, 中文, emoji 🚀\n\t| a | b |\n" + "x" * 100_000
    await drafts.save(OWNER, "s:with/odd chars", "Risks & Mitigations", md(text))
    assert await drafts.load(OWNER, "s:with/odd chars") == {"Risks & Mitigations": md(text)}


async def test_a_loaded_mapping_is_a_copy(store):
    drafts, _ = store
    await drafts.save(OWNER, "s1", "Appendix", md("one"))
    loaded = await drafts.load(OWNER, "s1")
    loaded["Appendix"] = md("changed")
    assert await drafts.load(OWNER, "s1") == {"Appendix": md("one")}


async def test_every_save_restarts_the_sessions_time_to_live(store):
    drafts, remaining = store
    await drafts.save(OWNER, "s1", "Appendix", md("one"))
    first = await _ttl(remaining, "s1")
    assert first is not None and TTL_S - 30 < first <= TTL_S
    await drafts.save(OWNER, "s1", "Executive Summary", md("two"))
    second = await _ttl(remaining, "s1")
    assert second is not None and TTL_S - 30 < second <= TTL_S


async def test_ping(store):
    drafts, _ = store
    assert await drafts.ping() is True
