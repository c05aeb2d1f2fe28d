"""Citation selection: every passage that supports the answer, up to five, never one that
carries nothing the answer states."""

from __future__ import annotations

from beacon_rag_query.citing import citation_order
from beacon_rag_query.domain import Evidence
from beacon_rag_query.factcheck import fact_check


def passage(index: int, text: str, grade: float, page: int, document_id: int | None = 7) -> Evidence:
    return Evidence(index, text, document_id, "Apple 10-Q", page, "AAPL.NS", "Q3FY23", grade)


STATEMENT = passage(1, "Net income $ 19,881 $ 19,442 $ 74,039 $ 79,082", 0.9, 4)
DISCUSSION = passage(2, "Net income was $19,881 million for the third quarter, compared with "
                        "$19,442 million a year earlier.", 0.7, 21)
SEGMENT = passage(3, "Net income attributable to the Products segment and net sales by "
                     "category are discussed below.", 0.85, 22)
OFF_TOPIC = passage(4, "The Company repurchased shares of common stock under its programme.", 0.88, 30)
WEAK = passage(5, "Net income per share and net income details are in Note 3.", 0.3, 12)
FUNDAMENTALS = passage(6, "The net income of Apple for Q3FY23 was $19,881 million.", 1.0, None, None)
ANSWER = "Apple's net income in the quarter was $19,881 million [1]."


def test_the_answer_cites_its_passage_then_the_others_that_support_it_in_rank_order():
    evidence = [STATEMENT, DISCUSSION, SEGMENT, OFF_TOPIC, WEAK, FUNDAMENTALS]
    fact = fact_check(ANSWER, evidence)
    # 2 states the figure itself; 3 is graded close to the best and is about net income;
    # 4 is graded as close but says nothing the answer states; 5 is on topic but graded far
    # below; 6 is structured data, not a page.
    assert citation_order(ANSWER, fact, evidence) == [1, 2, 3]


def test_no_more_than_the_limit_are_cited():
    more = [passage(10 + i, f"Net income was $19,881 million (note {i}).", 0.9, 40 + i) for i in range(6)]
    evidence = [STATEMENT, *more]
    fact = fact_check(ANSWER, evidence)
    order = citation_order(ANSWER, fact, evidence)
    assert order == [1, 10, 11, 12, 13]
    assert len(citation_order(ANSWER, fact, evidence, limit=2)) == 2


def test_an_answer_without_a_supported_claim_cites_nothing_more():
    evidence = [STATEMENT, DISCUSSION, SEGMENT]
    refusal = "I could not find this in the indexed filings for Apple."
    assert citation_order(refusal, fact_check(refusal, evidence), evidence) == []
