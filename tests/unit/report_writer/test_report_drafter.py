"""The offline drafter and the markdown rules it shares with the pipeline."""

from __future__ import annotations

import pytest

from beacon_contracts.sections import SECTIONS, ReportType
from beacon_report_writer.domain import (
    first_sentence,
    normalize_section,
    section_guide,
)
from beacon_report_writer.drafter import OFFLINE_LABEL, OfflineDrafter
from beacon_runtime.llm.port import Prompt

ALL_SECTIONS = [(t, title) for t, titles in SECTIONS.items() for title in titles]


def _generate_task(report_type: ReportType, title: str, **extra) -> dict:
    return {
        "mode": "generate",
        "report_type": report_type.value,
        "section_title": title,
        "customer_id": "ACME",
        "opportunity_id": "OPP-1",
        **extra,
    }


def _refine_task(original: str, instruction: str) -> dict:
    return {
        "mode": "refine",
        "report_type": "Feasibility_report",
        "section_title": "Risk Assessment",
        "customer_id": "ACME",
        "opportunity_id": "OPP-1",
        "original_markdown": original,
        "instruction": instruction,
    }


ORIGINAL = (
    "# Risk Assessment\n\n"
    "The budget may overrun. Two key engineers may leave.\n"
    "Vendors could be late.\n\n"
    "## Mitigations\n\n"
    "- Monthly budget review\n"
    "- Cross-training\n"
)


@pytest.mark.parametrize(("report_type", "title"), ALL_SECTIONS)
def test_every_section_gets_a_labelled_section_specific_outline(report_type, title):
    text = OfflineDrafter().draft(_generate_task(report_type, title))
    assert text.startswith(f"## {title}\n\n{OFFLINE_LABEL}")
    guide = section_guide(report_type, title)
    assert guide.purpose in text
    for topic in guide.covers:
        assert f"### {topic}\n" in text
    assert "`ACME`" in text and "`OPP-1`" in text


def test_the_same_section_differs_between_report_types():
    drafter = OfflineDrafter()
    feasibility = drafter.draft(_generate_task(ReportType.FEASIBILITY_REPORT, "Executive Summary"))
    proposal = drafter.draft(_generate_task(ReportType.COMMERCIAL_PROPOSAL, "Executive Summary"))
    assert "### Feasibility verdict" in feasibility
    assert "### Investment in brief" in proposal
    assert "Feasibility verdict" not in proposal


def test_without_material_every_outline_says_material_is_missing():
    text = OfflineDrafter().draft(_generate_task(ReportType.FEASIBILITY_REPORT, "Risk Assessment"))
    assert "> **Material missing.** No customer material has been uploaded for customer `ACME`" in text
    assert "POST /documents" in text


async def test_output_is_deterministic_and_streams_word_by_word():
    drafter = OfflineDrafter()
    prompt = Prompt(
        system="s", user="u", task=_generate_task(ReportType.TECHNICAL_SCOPE, "Technology Stack")
    )
    first = await drafter.complete(prompt)
    second = await drafter.complete(prompt)
    assert first.text == second.text
    assert first.model == "offline-drafter"
    pieces = [piece async for piece in drafter.stream(prompt)]
    assert len(pieces) > 20
    assert "".join(pieces) == first.text
    assert all(len(piece.split()) == 1 for piece in pieces)


def test_refine_keeps_the_text_and_quotes_an_instruction_it_cannot_apply():
    text = OfflineDrafter().draft(_refine_task(ORIGINAL, "Sound  more\nconfident"))
    assert text.startswith(f"## Risk Assessment\n\n{OFFLINE_LABEL}")
    assert '> Requested change: "Sound more confident"' in text
    assert "> - The tone is unchanged: the offline drafter cannot rewrite wording." in text
    assert "The budget may overrun. Two key engineers may leave.\nVendors could be late." in text
    assert "### Mitigations" in text and "## Mitigations" not in text.replace("###", "")
    assert text.count("## Risk Assessment") == 1  # the original's own title is not repeated
    assert "- Cross-training" in text


def test_refine_shortens_and_bullets_when_asked():
    text = OfflineDrafter().draft(_refine_task(ORIGINAL, "Make it shorter, as bullet points"))
    assert "> - Shortened from 19 to 10 words (target 11)" in text
    assert "> - Turned paragraphs into bullet points, one per sentence." in text
    assert "- The budget may overrun.\n" in text
    assert "Two key engineers" not in text and "Vendors" not in text
    assert "- Monthly budget review\n- Cross-training" in text  # the first points survive


def test_refine_bullets_every_sentence():
    text = OfflineDrafter().draft(_refine_task(ORIGINAL, "Use a bulleted list"))
    assert (
        "- The budget may overrun.\n- Two key engineers may leave.\n- Vendors could be late."
        in text
    )


def test_refine_keeps_fenced_code_whole():
    original = "Intro sentence. Second one.\n\n```yaml\na: 1\n\nb: 2\n```\n"
    text = OfflineDrafter().draft(_refine_task(original, "bullet points please"))
    assert "```yaml\na: 1\n\nb: 2\n```" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("```markdown\n# risk_assessment\n\nBody.\n```", "## Risk Assessment\n\nBody.\n"),
        ("### RISK ASSESSMENT ###\nBody.", "## Risk Assessment\n\nBody.\n"),
        ("Body only.", "## Risk Assessment\n\nBody only.\n"),
        ("## Mitigations\n\nBody.", "## Risk Assessment\n\n## Mitigations\n\nBody.\n"),
        ("```\n## Risk Assessment\n```", "## Risk Assessment\n"),
    ],
)
def test_normalize_section(raw, expected):
    assert normalize_section(raw, ReportType.FEASIBILITY_REPORT, "Risk Assessment") == expected


def test_first_sentence_skips_headings_quotes_and_notes():
    markdown = "## T\n\n> label\n\n_To do._\n\n- **Bold** start. Then more."
    assert first_sentence(markdown) == "Bold start."
