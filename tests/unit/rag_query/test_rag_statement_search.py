"""A figure question also searches for the statement that prints the figure
(grading.statement_requests): a statement page is titles, labels and figures, and loses a plain
search to the discussion pages that repeat the question's words."""

from __future__ import annotations

import pytest

import rag_harness
from beacon_rag_query import graph
from beacon_rag_query.asked import read_question
from beacon_rag_query.domain import Company
from beacon_rag_query.grading import first_request, statement_requests
from beacon_rag_query.sources import InMemoryPassageSearch
from beacon_rag_query.understanding import CompanyMatcher, understand
from rag_harness import TODAY, hit, start_harness

TITLE = "NVIDIA Form 10-Q Q3 FY2024"
STATEMENT = ("CONDENSED CONSOLIDATED STATEMENTS OF INCOME (In millions, except per share data)\n"
             "Revenue | 2023: 18,120 | 2022: 5,931\nNet income | 2023: 9,243 | 2022: 680")
DISCUSSION = [
    f"Net income in Q3 FY24 grew as {topic}, and net income per share rose with it in FY2024 "
    f"(2023-24, fiscal 2024); net income for Q3FY24 is discussed below."
    for topic in ("data center demand rose", "gaming recovered", "margins expanded", "expenses grew slower",
                  "the mix improved", "supply caught up", "pricing held", "automotive grew",
                  "visualization recovered", "networking grew")
]
NVIDIA = Company("NVDA", "NVIDIA Corporation", "NVDA", "Technology")


def passages():
    statement = hit("nvda-3", 900, TITLE, "NVDA", "quarterly_result", "Q3FY24", 3, STATEMENT)
    return [statement, *(hit(f"nvda-{20 + i}", 900, TITLE, "NVDA", "quarterly_result", "Q3FY24", 20 + i, text)
                         for i, text in enumerate(DISCUSSION))]


@pytest.fixture(autouse=True)
def nvidia_in_catalogue(monkeypatch):
    monkeypatch.setattr(rag_harness, "CATALOGUE", [*rag_harness.CATALOGUE, NVIDIA])


def reading_of(question: str):
    return understand(question, None, CompanyMatcher([NVIDIA]), today=TODAY)


def request_for(question: str):
    reading = reading_of(question)
    return statement_requests(reading, read_question(question, reading.companies, reading.periods), 8)


@pytest.mark.parametrize(("question", "title"), [
    ("What was NVIDIA's net income in Q3 FY2024?", "statement of operations"),
    ("What was NVIDIA's operating margin in Q3 FY2024?", "statement of operations"),
    ("What were NVIDIA's total assets in Q3 FY2024?", "balance sheet"),
    ("How much did NVIDIA spend on capex in Q3 FY2024?", "statement of cash flows"),
    # rows no catalogued line item names: the statement is read off the row's own words
    ("What was NVIDIA's loss from discontinued operations in Q3 FY2024?", "statement of operations"),
    ("What were NVIDIA's deferred tax liabilities in Q3 FY2024?", "balance sheet"),
    ("What were NVIDIA's proceeds from the issuance of shares in Q3 FY2024?", "statement of cash flows"),
])
def test_the_statement_search_names_the_statement_and_keeps_the_filters(question, title):
    (request,) = request_for(question)
    assert title in request.query and request.query.startswith(question)
    assert request.company_symbols == ["NVDA"]


@pytest.mark.parametrize(("question", "searches"), [
    # a derived metric is printed on no statement: its inputs are, each on its own
    ("What was NVIDIA's current ratio in Q3 FY2024?",
     [("balance sheet", ["total current assets", "total current liabilities"])]),
    ("What was NVIDIA's return on assets in Q3 FY2024?",
     [("statement of operations", ["net profit"]), ("balance sheet", ["total assets"])]),
    ("What was NVIDIA's free cash flow in Q3 FY2024?",
     [("statement of cash flows", ["net cash from operating activities",
                                   "purchases of property, plant and equipment"])]),
])
def test_a_derived_metric_searches_the_statements_of_its_inputs_by_their_names(question, searches):
    requests = request_for(question)
    assert len(requests) == len(searches)
    for request, (title, names) in zip(requests, searches, strict=True):
        assert request.query.startswith(question) and title in request.query
        assert all(name in request.query for name in names)
        assert request.company_symbols == ["NVDA"]


def test_a_narrative_question_has_no_statement_search():
    assert request_for("What risks did NVIDIA highlight in Q3 FY2024?") == []


async def ask(question: str) -> tuple[str, list[dict]]:
    async for harness in start_harness(search=InMemoryPassageSearch(passages()), retrieve_limit=8):
        run = await harness.ask(question)
        record = await harness.repository.get(run.query_id)
        return record.response or "", record.citations
    raise AssertionError("the harness did not start")


async def test_the_statement_page_reaches_the_answer(monkeypatch):
    question = "What was NVIDIA's net income in Q3 FY2024?"
    plain = await InMemoryPassageSearch(passages()).search(first_request(reading_of(question), 8))
    assert "nvda-3" not in {h.chunk_id for h in plain}  # the premise: discussion wins a plain search

    response, citations = await ask(question)
    assert "9,243" in response
    assert (900, 3) in [(c["document_id"], c["page_number"]) for c in citations]

    monkeypatch.setattr(graph, "statement_requests", lambda *args: [])
    without, _ = await ask(question)
    assert "9,243" not in without
