"""Reading a statement page whole before reading a figure off it.

Ingestion cuts a statement page into chunks of rows, and only one of them carries the
column headers ("Three Months Ended September 30, 2023 2022") the periods are read from.
Retrieval ranks the rows that share the question's words; the header chunk, which shares
none, is often left out, and then the figure reader cannot tell this year's column from
last year's. A derived metric needs rows the question does not name (the revenue
under a margin), which retrieval has no reason to rank. So when the ranked passages do not
answer a figure question, the reader is also given the other chunks of the top-ranked pages
that hold statement rows: the page, not the chunk, is the unit a reader of a filing looks
at. Only then: a page's other tables (segments, the year-ago columns) are distractors for a
line item the ranked rows already state.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from beacon_contracts.search import SearchRequest
from beacon_rag_query.derived import FigureAnswer
from beacon_rag_query.domain import Evidence, Passage
from beacon_rag_query.figures import evidence_rows
from beacon_rag_query.sources import PassageSearch
from beacon_rag_query.statements import STATEMENT_TITLE

PAGES_READ_WHOLE = 3  # the top pages with rows: a figure is on one of them or not found
CHUNKS_PER_PAGE = 20  # a dense statement page is about a dozen chunks


def answers(figures: FigureAnswer | None) -> bool:
    """The ranked passages answer: a figure for a line item, a computation for a derived one,
    for every company and period asked."""
    if figures is None or figures.missing:
        return False
    if figures.question.kind == "line_item":
        return bool(figures.figures)
    return bool(figures.computations)


def on_statement(e: Evidence) -> bool:
    """The passage is on a financial statement page: ingestion titles every chunk of one."""
    return bool(STATEMENT_TITLE.search(e.section or "") or STATEMENT_TITLE.search(e.text[:200]))


# The titles of each statement, as on_statement's pattern names them; an income statement is
# not the statement of comprehensive income printed beside it.
_TITLES = {
    "income": re.compile(r"statements?\s+of\s+(?:(?:consolidated|condensed|standalone)\s+)*(?:operations|income|"
                         r"earnings|profit)|income\s+statements?|profit\s+(?:and|or|&)\s+loss|financial\s+results",
                         re.IGNORECASE),
    "balance": re.compile(r"balance\s+sheets?|financial\s+position", re.IGNORECASE),
    "cash": re.compile(r"cash\s+flows?", re.IGNORECASE),
}


def with_statement(passages: Sequence[Passage], limit: int, kinds: Sequence[str]) -> list[Passage]:
    """A figure question's answer is printed on a statement page, which grades low on words
    ("Revenues 20,158 19,277") beside the discussion that repeats the question's: for each
    statement it is printed on (`kinds`: "income", "balance", "cash") that none of the first
    `limit` passages is on, the best-ranked passage that is takes the last free place among
    them, so the answerer reads it (and the page it is on)."""
    moved: list[Passage] = []
    for kind in kinds:
        def titled(p: Passage, title: re.Pattern = _TITLES[kind]) -> bool:
            return bool(title.search(p.hit.section or ""))

        if any(titled(p) for p in passages[:limit]) or any(titled(p) for p in moved):
            continue
        best = next((p for p in passages[limit:] if titled(p) and p not in moved), None)
        if best is not None and len(moved) < limit - 1:
            moved.append(best)
    rest = [p for p in passages if p not in moved]
    keep = limit - len(moved)
    return [*rest[:keep], *moved, *rest[keep:]]


def statement_backed(figures: FigureAnswer | None, evidence: Sequence[Evidence]) -> bool:
    """Every figure of the answer was read off a statement page, not a sentence or a note."""
    if figures is None or not figures.figures:
        return False
    by_index = {e.index: e for e in evidence}
    return all(f.evidence in by_index and on_statement(by_index[f.evidence]) for f in figures.figures)


def pages_to_read(evidence: Sequence[Evidence], companies: Sequence[str],
                  limit: int = PAGES_READ_WHOLE) -> list[tuple[int, int]]:
    """(document, page) of the first `limit` ranked passages that hold statement rows or are
    on a statement page, and belong to an asked company (any company when none is asked): statement pages first,
    because a line item is printed there (a note or the discussion repeats it, rounded)."""
    pages: list[tuple[int, int]] = []
    statement: set[tuple[int, int]] = set()
    for e in evidence:
        if e.document_id is None or e.page_number is None:
            continue
        if companies and e.company_symbol not in companies:
            continue
        key = (e.document_id, e.page_number)
        if on_statement(e):
            statement.add(key)
        # a statement page's chunk of column headers alone holds no rows; its page does
        if key not in pages and (key in statement or evidence_rows([e])):
            pages.append(key)
    return sorted(pages, key=lambda k: k not in statement)[:limit]


async def read_whole_pages(search: PassageSearch, query: str, evidence: Sequence[Evidence],
                           pages: Sequence[tuple[int, int]]) -> list[Evidence]:
    """The chunks of `pages` that `evidence` does not hold yet, numbered after it, each with
    the grade of the best passage of its page (the page was ranked, not the chunk)."""
    held = {(e.document_id, e.page_number, " ".join(e.text.split())) for e in evidence}
    grade = {}
    for e in evidence:
        key = (e.document_id, e.page_number)
        grade[key] = max(grade.get(key, 0.0), e.score)
    extra: list[Evidence] = []
    next_index = max((e.index for e in evidence), default=0) + 1
    fetched = await asyncio.gather(*(search.search(SearchRequest(
        query=query, document_ids=[document_id], page_numbers=[page], limit=CHUNKS_PER_PAGE))
        for document_id, page in pages))
    for (document_id, page), hits in zip(pages, fetched, strict=True):
        for hit in hits:
            key = (hit.document_id, hit.page_number, " ".join(hit.text.split()))
            if key[:2] != (document_id, page) or key in held:
                continue
            held.add(key)
            extra.append(Evidence(
                index=next_index, text=hit.text, document_id=hit.document_id,
                document_title=hit.document_title, page_number=hit.page_number,
                company_symbol=hit.company_symbol, fiscal_period=hit.fiscal_period,
                score=grade.get((document_id, page), 0.0), section=hit.section))
            next_index += 1
    return extra


def used_pages(figures: FigureAnswer | None, extra: Sequence[Evidence]) -> list[Evidence]:
    """The page chunks a figure (or a computation's input) was read from: only those join
    the evidence the answer cites and the fact check reads."""
    if figures is None:
        return []
    used = {f.evidence for f in figures.figures}
    used.update(i for c in figures.computations for i in c.evidence)
    return [e for e in extra if e.index in used]
