"""A figure question reads the top statement pages whole (beacon_rag_query.pages).

The statement page is NVIDIA's 10-Q income statement as ingestion chunks it (the shape of
test_rag_us_statements.py): a chunk of column headers, a chunk with the revenue rows and a
chunk with the operating income rows. An operating margin needs both rows. The search used
here ranks as the in-memory twin does but leaves the revenue chunk out of every ranked search
(as a ranking led by "operating margin" does), while a page fetch returns the whole page.
"""

from __future__ import annotations

import pytest

import rag_harness
from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.domain import Company, Evidence
from beacon_rag_query.pages import pages_to_read, read_whole_pages
from beacon_rag_query.sources import InMemoryPassageSearch, PassageSearch
from rag_harness import hit, start_harness

TITLE = "NVIDIA Form 10-Q Q3 FY2024"
SECTION = "CONDENSED CONSOLIDATED STATEMENTS OF INCOME - (In millions, except per share data)"
HEADER = "Three Months Ended Nine Months Ended October 29, October 30, October 29, October 30,"
REVENUE = """Revenue | 2023: 18,120 | 2022: 5,931 | 2023: 38,819 | 2022: 20,923
Cost of revenue | 2023: 4,720 | 2022: 2,754 | 2023: 11,309 | 2022: 9,400"""
ROWS = """Operating income | 2023: 10,417 | 2022: 601 | 2023: 19,358 | 2022: 2,968
Net income | 2023: 9,243 | 2022: 680 | 2023: 17,475 | 2022: 2,954"""
PROSE = [
    "Operating income grew on demand for data center platforms, and operating expenses rose "
    "with headcount and compensation.",
    "Operating income in the gaming segment benefited from channel inventory normalisation.",
    "We expect operating income to reflect continued investment in research and development.",
    "Operating income and net income are discussed by segment under Results of Operations.",
    "Operating income per segment excludes stock-based compensation and acquisition costs.",
    "The first nine months of fiscal year 2024 saw operating income rise in every segment.",
    "Operating income was affected by export controls on shipments of some products.",
    "Operating income margins expanded with the mix of data center products.",
]


def statement_page() -> list[SearchHit]:
    page = [hit("nvda-7-h", 900, TITLE, "NVDA", "quarterly_result", "Q3FY24", 7, HEADER),
            hit("nvda-7-v", 900, TITLE, "NVDA", "quarterly_result", "Q3FY24", 7, REVENUE),
            hit("nvda-7-r", 900, TITLE, "NVDA", "quarterly_result", "Q3FY24", 7, ROWS)]
    page = [h.model_copy(update={"section": SECTION}) for h in page]
    prose = [hit(f"nvda-{30 + i}", 900, TITLE, "NVDA", "quarterly_result", "Q3FY24", 30 + i, text)
             for i, text in enumerate(PROSE)]
    return page + prose


class RevenueLeftOut(PassageSearch):
    """Ranked searches never return the revenue chunk; page fetches do, unless refused (what
    the reader sees without reading pages whole)."""

    def __init__(self, *, page_fetch: bool = True) -> None:
        self.inner = InMemoryPassageSearch(statement_page())
        self.page_fetch = page_fetch

    async def search(self, request: SearchRequest) -> list[SearchHit]:
        if request.page_numbers:
            return await self.inner.search(request) if self.page_fetch else []
        return [h for h in await self.inner.search(request) if h.chunk_id != "nvda-7-v"]


@pytest.fixture(autouse=True)
def nvidia_in_catalogue(monkeypatch):
    monkeypatch.setattr(rag_harness, "CATALOGUE",
                        [*rag_harness.CATALOGUE, Company("NVDA", "NVIDIA Corporation", "NVDA", "Technology")])


QUESTION = "What was NVIDIA's operating margin in Q3 FY2024?"


async def ask(search: PassageSearch) -> tuple[str, list[dict], list[dict]]:
    return await ask_question(QUESTION, search)


async def ask_question(question: str, search: PassageSearch) -> tuple[str, list[dict], list[dict]]:
    async for harness in start_harness(search=search, retrieve_limit=8):
        run = await harness.ask(question)
        record = await harness.repository.get(run.query_id)
        generate = next(d for d in run.events("node") if d["node"] == "generate")
        return record.response, record.citations, [generate]
    raise AssertionError("the harness did not start")


async def test_a_margin_reads_the_revenue_row_from_the_rest_of_its_page():
    response, citations, (generate,) = await ask(RevenueLeftOut())
    assert generate["pages_read"] >= 1
    assert "57.5%" in response and "10,417" in response and "18,120" in response
    assert (900, 7) in [(c["document_id"], c["page_number"]) for c in citations]
    assert any("18,120" in c["source_text"] for c in citations)  # the fetched chunk is cited

    without, _, (generate,) = await ask(RevenueLeftOut(page_fetch=False))
    assert generate["pages_read"] >= 1
    assert "57.5%" not in without  # without the revenue row there is no margin


async def test_only_pages_with_rows_of_an_asked_company_are_read():
    def evidence(i, symbol, page, text):
        return Evidence(i, text, 10 + page, "T", page, symbol, "FY2024", 0.9)

    ranked = [evidence(1, "NVDA", 30, PROSE[0]), evidence(2, "TCS.NS", 5, ROWS),
              evidence(3, "NVDA", 7, ROWS), evidence(4, "NVDA", 8, ROWS), evidence(5, "NVDA", 9, ROWS),
              evidence(6, "NVDA", 10, ROWS)]
    assert pages_to_read(ranked, ["NVDA"]) == [(17, 7), (18, 8), (19, 9)]
    assert pages_to_read(ranked, []) == [(15, 5), (17, 7), (18, 8)]


async def test_page_chunks_already_held_are_not_read_twice_and_take_the_pages_grade():
    index = InMemoryPassageSearch(statement_page())
    held = [Evidence(1, ROWS, 900, TITLE, 7, "NVDA", "Q3FY24", 0.7, section=SECTION)]
    extra = await read_whole_pages(index, QUESTION, held, [(900, 7)])
    assert sorted((e.text, e.score) for e in extra) == sorted([(HEADER, 0.7), (REVENUE, 0.7)])
    assert sorted(e.index for e in extra) == [2, 3]


async def test_a_line_item_the_ranked_rows_state_reads_no_page():
    """The operating income row is ranked: the rest of its page (other tables, year-ago
    columns) would only be distractors."""
    _, _, (generate,) = await ask_question("What was NVIDIA's operating income in Q3 FY2024?",
                                           RevenueLeftOut())
    assert generate["pages_read"] == 0


def test_a_statement_passage_ranked_below_the_answer_places_takes_the_last_of_them():
    from beacon_rag_query.domain import Passage
    from beacon_rag_query.pages import with_statement

    def passage(chunk: str, page: int, section: str | None) -> Passage:
        found = hit(chunk, 9, TITLE, "NVDA", "quarterly_result", "Q3FY24", page, "text").model_copy(
            update={"section": section})
        return Passage(found, grade=0.5)

    prose = [passage(f"p{i}", 20 + i, "Results of Operations") for i in range(8)]
    statement = passage("s", 3, SECTION)
    moved = with_statement([*prose, statement], 6, ["income"])
    assert [p.key for p in moved[:6]] == ["p0", "p1", "p2", "p3", "p4", "s"] and len(moved) == 9
    already = [prose[0], statement, *prose[1:]]
    assert with_statement(already, 6, ["income"]) == already  # one is among them: nothing moves
    assert with_statement(prose, 6, ["income"]) == prose  # no statement retrieved: nothing to move
    # a return on assets: the income statement and the balance sheet, one place each
    sheet = passage("b", 5, "CONDENSED CONSOLIDATED BALANCE SHEETS - (In millions)")
    both = with_statement([*prose, statement, sheet], 6, ["income", "balance"])
    assert [p.key for p in both[:6]] == ["p0", "p1", "p2", "p3", "s", "b"]
    # the statement of comprehensive income printed beside it is not the income statement
    comprehensive = passage("c", 4, "CONDENSED CONSOLIDATED STATEMENTS OF COMPREHENSIVE INCOME - (In millions)")
    mixed = with_statement([prose[0], comprehensive, *prose[1:], statement], 6, ["income"])
    assert "s" in [p.key for p in mixed[:6]]


def test_a_statement_pages_chunk_of_headers_alone_gets_its_page_read():
    header_only = Evidence(1, f"{SECTION}\n{HEADER}", 9, TITLE, 3, "NVDA", "Q3FY24", 0.5, section=SECTION)
    prose = Evidence(2, PROSE[0], 9, TITLE, 20, "NVDA", "Q3FY24", 0.4, section="Results of Operations")
    assert pages_to_read([prose, header_only], ["NVDA"]) == [(9, 3)]
