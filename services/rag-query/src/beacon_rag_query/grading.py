"""Grade retrieved passages, and rewrite the search when too few of them are relevant.

Both are deterministic: a grade is lexical coverage of the question's terms plus whether the
passage is about the right company and period; a rewrite first expands the query with the
ways filings write the period and metric, then relaxes the period filter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.asked import FigureQuestion
from beacon_rag_query.domain import Passage
from beacon_rag_query.lineitems import BY_KEY, LineItem
from beacon_rag_query.periods import period_from_label
from beacon_rag_query.text import content_terms
from beacon_rag_query.vocabulary import coverage, phrases_for
from beacon_rag_query.understanding import Understanding

LEXICAL_WEIGHT, ENTITY_WEIGHT, PERIOD_WEIGHT = 0.5, 0.25, 0.25
MIN_LEXICAL = 0.2
MIN_GRADE = 0.45

def question_terms(understanding: Understanding) -> set[str]:
    """The question's content terms without the company and period words: those are graded
    separately, and every passage of a filtered search contains them anyway."""
    entity_words = set()
    for name in understanding.company_names:
        entity_words |= content_terms(name)
    for symbol in understanding.companies:
        entity_words |= content_terms(symbol.replace(".", " "))
    period_words = {"fy", "fiscal", "financial", "quarter", "half", "last", "previous", "q", "h"}
    return {t for t in content_terms(understanding.question) if t not in entity_words | period_words}


@dataclass(frozen=True)
class GradeReport:
    passages: list[Passage]  # every passage, best first
    relevant: list[Passage]


def grade(hits: Sequence[SearchHit], understanding: Understanding) -> GradeReport:
    wanted = question_terms(understanding)
    graded = [_grade_one(hit, understanding, wanted) for hit in hits]
    graded.sort(key=lambda p: (-p.grade, -p.hit.score, p.key))
    return GradeReport(graded, [p for p in graded if p.relevant])


def _grade_one(hit: SearchHit, understanding: Understanding, wanted: set[str]) -> Passage:
    found = content_terms(hit.text + " " + (hit.section or ""))
    lexical = coverage(wanted, found) if wanted else 0.5
    entity = _entity_match(hit, understanding)
    period = _period_match(hit, understanding)
    score = LEXICAL_WEIGHT * lexical + ENTITY_WEIGHT * entity + PERIOD_WEIGHT * period
    relevant = lexical >= MIN_LEXICAL and entity > 0 and period > 0 and score >= MIN_GRADE
    return Passage(hit=hit, grade=round(score, 4), relevant=relevant, lexical=round(lexical, 4))


def _entity_match(hit: SearchHit, understanding: Understanding) -> float:
    if not understanding.companies:
        return 0.5
    if hit.company_symbol in understanding.companies:
        return 1.0
    if hit.company_symbol is None:
        text = hit.text.lower()
        return 1.0 if any(n.lower() in text for n in understanding.company_names) else 0.25
    return 0.0


def _period_match(hit: SearchHit, understanding: Understanding) -> float:
    if not understanding.periods:
        return 0.5
    filed = period_from_label(hit.fiscal_period) if hit.fiscal_period else None
    if filed is not None and any(p.overlaps(filed) for p in understanding.periods):
        return 1.0
    # A filing of another period often restates this one ("FY2024 vs FY2023"): partial credit
    # when the text names it.
    text = hit.text
    for period in understanding.periods:
        if any(re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", text, re.I)
               for v in period.text_variants()[:4]):
            return 0.75 if filed is not None else 1.0
    return 0.0 if filed is not None else 0.25


# ---- search requests -------------------------------------------------------------------


def first_request(understanding: Understanding, limit: int) -> SearchRequest:
    """The question itself plus the period written the ways filings write it ("2023-24"),
    because a tokenizer that keeps "FY2024" whole never matches "2024"."""
    return SearchRequest(
        query=_query_text(understanding.question, _period_words(understanding)),
        company_symbols=list(understanding.companies),
        fiscal_periods=understanding.search_periods(),
        doc_types=list(understanding.document_types),
        limit=limit,
    )


# How filings title the statement a line item is printed on (US, IFRS and Ind AS wording).
_STATEMENT_WORDS = {
    "income": "statement of operations income statement profit and loss",
    "balance": "balance sheet statement of financial position",
    "cash": "statement of cash flows",
}
_CASH_ITEMS = frozenset({"operating_cash_flow", "investing_cash_flow", "financing_cash_flow", "capex",
                         "dividends_paid", "free_cash_flow"})


# The words of a row no catalogued line item names that place it on a statement ("deferred tax
# liabilities", "proceeds from issuance of shares"); any other figure is an income statement's.
_BALANCE_WORDS = frozenset(content_terms(
    "assets liabilities equity receivable payable inventories goodwill intangible deposits provisions "
    "reserves borrowings loans debt lease investments capital"))
_CASH_WORDS = frozenset(content_terms("proceeds paid payments purchases repayment repayments issuance"))


def _statement_kind(question: FigureQuestion, item: LineItem | None) -> str:
    if item is not None:
        return "cash" if item.key in _CASH_ITEMS else "balance" if item.point else "income"
    if question.terms & _CASH_WORDS:
        return "cash"
    return "balance" if question.terms & _BALANCE_WORDS else "income"


def statement_requests(understanding: Understanding, question: FigureQuestion, limit: int) -> list[SearchRequest]:
    """For a figure question, searches aimed at the statements that print the figure: the
    question's words plus the statement's title. A statement page is rows and figures,
    which share few words with a question and lose to the discussion that repeats them; the
    title is on every chunk of a statement page, so this search reaches it. A derived metric
    ("current ratio", "free cash flow") is printed on no statement: its inputs are, by
    their own names, on one statement or two (net margin: the income statement; return on
    assets: that and the balance sheet), one search each."""
    # Twice the limit: a statement's chunks compete with its neighbours' (comprehensive
    # income beside the income statement), and grading picks among them.
    first = first_request(understanding, limit).model_copy(update={"limit": 2 * limit})
    return [first.model_copy(update={"query": " ".join([first.query, *(i.name for i in items), _STATEMENT_WORDS[kind]])})
            for kind, items in statement_inputs(question).items()]


def statement_inputs(question: FigureQuestion) -> dict[str, list[LineItem]]:
    """The statements ("income", "balance", "cash") a figure question's answer is printed on,
    with the inputs of a derived metric each holds (none for a line item: the question names it)."""
    if not question.is_figure:
        return {}
    inputs = _inputs(question)
    if not inputs:
        if question.item is None and not question.terms:
            return {}
        return {_statement_kind(question, question.item): []}
    by_kind: dict[str, list[LineItem]] = {}
    for item in inputs:
        by_kind.setdefault(_statement_kind(question, item), []).append(item)
    return by_kind


def _inputs(question: FigureQuestion) -> list[LineItem]:
    """The line items a derived metric is computed from."""
    if question.ratio is not None:
        r = question.ratio
        return [BY_KEY[k] for k in (r.numerator, r.denominator, r.extra, r.less) if k]
    if question.kind == "free_cash_flow":
        return [BY_KEY[k] for k, _ in BY_KEY["free_cash_flow"].computed]
    return []


def rewrite_request(understanding: Understanding, attempt: int, limit: int) -> SearchRequest:
    """Attempt 1: expand the metric words with how filings say them, keep every filter.
    Attempt 2 and later: also drop the period and document-type filters (keep the company:
    the wrong company's filing is never the answer)."""
    words = sorted(question_terms(understanding))
    expansion = [p for w in words for p in phrases_for(w)]
    query = _query_text(
        " ".join([*understanding.company_names, *words, *expansion]),
        _period_words(understanding),
    )
    relaxed = attempt >= 2
    return SearchRequest(
        query=query,
        company_symbols=list(understanding.companies),
        fiscal_periods=[] if relaxed else understanding.search_periods(),
        doc_types=[] if relaxed else list(understanding.document_types),
        limit=limit,
    )


def _period_words(understanding: Understanding) -> list[str]:
    words: list[str] = []
    for period in understanding.periods:
        for variant in period.text_variants():
            if variant not in words:
                words.append(variant)
    return words


def _query_text(base: str, extra: list[str], max_chars: int = 2000) -> str:
    text = " ".join([base, *extra]).strip() or base
    return text[:max_chars]


def retrieval_score(passages: Sequence[Passage]) -> float | None:
    if not passages:
        return None
    return round(sum(p.grade for p in passages) / len(passages), 4)


def merge_hits(*batches: Sequence[SearchHit]) -> list[SearchHit]:
    """Hits of several searches, each chunk once (its best score kept)."""
    best: dict[str, SearchHit] = {}
    for batch in batches:
        for hit in batch:
            if hit.chunk_id not in best or hit.score > best[hit.chunk_id].score:
                best[hit.chunk_id] = hit
    return list(best.values())
