"""The hint words of the section guides' topics (domain.TOPIC_HINTS): what filing relies on."""

from __future__ import annotations

import pytest

from beacon_contracts.sections import SECTIONS
from beacon_report_writer.domain import TOPIC_HINTS, section_guide, topic_queries
from beacon_report_writer.grounding import terms

ALL_SECTIONS = [(t, title) for t, titles in SECTIONS.items() for title in titles]


def _hint_terms(topic: str) -> set[str]:
    """The terms a topic's hints add to its own words (a hint repeating them adds nothing)."""
    return terms(TOPIC_HINTS.get(topic, "")) - terms(topic)


@pytest.mark.parametrize(("report_type", "title"), ALL_SECTIONS)
def test_every_topic_of_every_section_has_hint_words(report_type, title):
    guide = section_guide(report_type, title)
    assert [topic for topic in guide.covers if not _hint_terms(topic)] == []


@pytest.mark.parametrize(("report_type", "title"), ALL_SECTIONS)
def test_no_two_topics_of_a_section_share_a_hint_word(report_type, title):
    # A shared hint weighs the same for both topics, so it cannot say which one a sentence is about.
    first_topic: dict[str, str] = {}
    shared = []
    for topic in section_guide(report_type, title).covers:
        for word in sorted(_hint_terms(topic)):
            if word in first_topic:
                shared.append((word, first_topic[word], topic))
            first_topic.setdefault(word, topic)
    assert shared == []


def test_a_topic_is_searched_with_its_hints_and_by_its_own_words():
    assert topic_queries("Termination") == [f"Termination {TOPIC_HINTS['Termination']}", "Termination"]
