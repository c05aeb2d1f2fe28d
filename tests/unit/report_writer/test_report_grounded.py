"""Sections drafted from the customer's own RFP (issue 13), through the public report API on
the in-process stack: footnotes to the right pages, one session read as one report, another
key's session never sees the material, and refinements that do what was asked."""

from __future__ import annotations

import pytest

from beacon_report_writer.drafter import OFFLINE_LABEL
from report_testkit import ReportStack, decoded, footnoted, make_rfp_pdf, page_of

A, B = "key-a", "key-b"
SESSION = "session-acme-1"


@pytest.fixture
async def stack(tmp_path):
    async with ReportStack(tmp_path) as s:
        s.rfp_id = await s.upload(A, make_rfp_pdf(), customer_id="acme", title="Acme WMS RFP")
        yield s


def cited_pages(result: dict, markdown: str, fact: str) -> set[int]:
    by_index = {c["index"]: c for c in result["citations"]}
    return {by_index[n]["page_number"] for n in footnoted(markdown, fact)}


async def test_sections_state_the_rfps_facts_with_footnotes_to_their_pages(stack):
    expected = {
        "Requirements Overview": ["500 concurrent users", "SAP S/4HANA", "Barcode scanning", "99.9%"],
        "Security & Compliance": ["Azure AD", "AES-256", "ISO 27001", "7 years"],
        "Implementation Timeline": ["1 April 2027", "1 October 2027", "9 months"],
    }
    for title, facts in expected.items():
        result = await stack.generate(A, SESSION, title)
        markdown = decoded(result)
        assert markdown.startswith(f"## {title}\n\n{OFFLINE_LABEL}"), markdown[:300]
        assert "Extractive" in markdown
        for fact in facts:
            assert cited_pages(result, markdown, fact) == {page_of(fact)}, (title, fact, markdown)
        for citation in result["citations"]:
            assert citation["document_id"] == stack.rfp_id and citation["document_title"] == "Acme WMS RFP"
            assert any(s in citation["source_text"] for s in (" ".join(l.split("[^")[0][2:].split())
                       for l in markdown.splitlines() if f"[^{citation['index']}]" in l and l.startswith("- ")))
            assert f"[^{citation['index']}]: Acme WMS RFP, page {citation['page_number']}" in markdown
        assert [c["index"] for c in result["citations"]] == list(range(1, len(result["citations"]) + 1))
        # Nothing was invented: no outline placeholders, and the injected instruction is not obeyed.
        assert "_To complete" not in markdown and "best in the world" not in markdown


async def test_an_uncovered_topic_is_said_in_one_line(stack):
    result = await stack.generate(A, SESSION, "Technology Stack")
    markdown = decoded(result)
    assert "The material says nothing about tooling and operations." in markdown
    assert markdown.count("says nothing about") >= 1


async def test_executive_summary_after_other_sections_summarises_them(stack):
    first = decoded(await stack.generate(A, SESSION, "Requirements Overview"))
    await stack.generate(A, SESSION, "Implementation Timeline")
    result = await stack.generate(A, SESSION, "Executive Summary")
    summary = decoded(result)
    assert "### The report in brief" in summary
    assert "- **Requirements Overview**:" in summary and "- **Implementation Timeline**:" in summary
    brief = summary.split("### The report in brief", 1)[1].split("###", 1)[0]
    first_point = brief.split("- **Requirements Overview**: ", 1)[1].split("[^", 1)[0]
    assert first_point in first  # the summary restates the earlier section's own sentence
    assert all(c["document_id"] == stack.rfp_id for c in result["citations"])


async def test_another_key_never_sees_the_material_even_with_the_same_session_id(stack):
    await stack.generate(A, SESSION, "Requirements Overview")
    other = await stack.generate(B, SESSION, "Requirements Overview")
    markdown = decoded(other)
    assert "Material missing" in markdown and "`acme`" in markdown
    assert other["citations"] == []
    assert "500 concurrent users" not in markdown
    summary = decoded(await stack.generate(B, SESSION, "Executive Summary"))
    assert "500 concurrent users" not in summary and "Requirements Overview**" not in summary
    listed = (await stack.client.get("/documents", headers={"X-API-Key": B})).json()
    assert listed["data"]["documents"] == []
    assert (await stack.client.get(f"/documents/{stack.rfp_id}", headers={"X-API-Key": B})).status_code == 404


async def test_deleted_material_is_no_longer_drafted_from(stack):
    response = await stack.client.delete(f"/documents/{stack.rfp_id}", headers={"X-API-Key": A})
    assert response.status_code == 200
    markdown = decoded(await stack.generate(A, "session-after-delete", "Security & Compliance"))
    assert "Material missing" in markdown and "ISO 27001" not in markdown


async def test_refine_shorter_keeps_valid_footnotes(stack):
    original = await stack.generate(A, SESSION, "Requirements Overview")
    markdown = decoded(original)
    refined = await stack.refine(A, SESSION, "Requirements Overview", markdown, "Make it shorter")
    text = decoded(refined)
    words = lambda md: len(md.split("\n[^1]:")[0].split())  # noqa: E731 - body words
    assert words(text) < words(markdown)
    assert any("shortened from" in change for change in refined["changes"])
    indices = {c["index"] for c in refined["citations"]}
    assert indices == set(range(1, len(indices) + 1)) and indices
    for citation in refined["citations"]:
        assert citation["document_id"] == stack.rfp_id
        assert f"[^{citation['index']}]" in text.split("\n[^1]:")[0]
    # Every surviving sentence keeps the page its fact is on.
    for fact in ("500 concurrent users", "SAP S/4HANA"):
        if fact in text:
            assert cited_pages(refined, text, fact) == {page_of(fact)}


async def test_refine_adds_a_risk_the_rfp_mentions_with_its_footnote(stack):
    markdown = decoded(await stack.generate(A, SESSION, "Risks & Mitigations"))
    refined = await stack.refine(A, SESSION, "Risks & Mitigations", markdown,
                                 "Make it shorter and add a risk about vendor lock-in")
    text = decoded(refined)
    assert "### Vendor lock-in" in text
    assert cited_pages(refined, text, "vendor lock-in") == {page_of("avoid vendor lock-in")}
    assert any("added a risk about vendor lock-in" in change for change in refined["changes"])
    assert any("shortened from" in change for change in refined["changes"])


async def test_refine_says_when_the_material_cannot_support_an_addition(stack):
    markdown = decoded(await stack.generate(A, SESSION, "Risks & Mitigations"))
    refined = await stack.refine(A, SESSION, "Risks & Mitigations", markdown,
                                 "Add a risk about currency fluctuations")
    text = decoded(refined)
    assert "The material says nothing about currency fluctuations, so it was not added." in text
    assert any("could not add currency fluctuations" in change for change in refined["changes"])
    assert "### Currency fluctuations" not in text


async def test_refine_removes_a_named_topic_and_its_footnotes(stack):
    markdown = decoded(await stack.generate(A, SESSION, "Security & Compliance"))
    assert "ISO 27001" in markdown
    refined = await stack.refine(A, SESSION, "Security & Compliance", markdown,
                                 "Remove the regulations and standards")
    text = decoded(refined)
    assert "### Regulations and standards" not in text
    assert any("removed" in change and "regulations and standards" in change for change in refined["changes"])
    body = text.split("\n[^1]:")[0]
    assert {c["index"] for c in refined["citations"]} == {int(n) for n in __import__("re").findall(r"\[\^(\d+)\]", body)}
