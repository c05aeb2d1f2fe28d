"""Words that mean the same in Indian filings: users ask for "turnover" or "PAT", filings
write "revenue from operations" and "profit after tax". Used wherever a question's words are
matched against a passage (grading, the extractive answerer, the fact checker) and to expand
rewritten searches."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from beacon_rag_query.text import content_terms

GROUPS: tuple[tuple[str, ...], ...] = (
    ("revenue", "revenue from operations", "total income", "turnover", "sales", "top line"),
    ("net profit", "profit after tax", "PAT", "profit for the year", "earnings", "bottom line"),
    ("EBITDA", "operating profit", "operating EBITDA"),
    ("margin", "EBITDA margin", "operating margin", "net profit margin"),
    ("employees", "headcount", "workforce", "staff"),
    ("borrowings", "debt", "total debt", "net debt", "loans"),
    ("capital expenditure", "capex", "investment in fixed assets"),
    ("dividend", "dividend per share", "final dividend", "interim dividend", "payout"),
    ("growth", "increase", "grew", "rose"),
    ("eps", "earnings per share"),
)


@cache
def _alternatives_by_term() -> dict[str, tuple[frozenset[str], ...]]:
    table: dict[str, set[frozenset[str]]] = {}
    for group in GROUPS:
        options = [frozenset(content_terms(phrase)) for phrase in group]
        for phrase_terms in options:
            if len(phrase_terms) != 1:
                continue
            (term,) = phrase_terms
            table.setdefault(term, set()).update(o for o in options if o and o != phrase_terms)
    return {term: tuple(sorted(opts, key=sorted)) for term, opts in table.items()}


def alternatives(term: str) -> tuple[frozenset[str], ...]:
    """Other ways to say `term`, each a set of terms that must all appear."""
    return _alternatives_by_term().get(term, ())


def matches(term: str, found: set[str]) -> bool:
    return term in found or any(option <= found for option in alternatives(term))


def coverage(wanted: Iterable[str], found: set[str]) -> float:
    wanted = set(wanted)
    if not wanted:
        return 1.0
    return sum(matches(t, found) for t in wanted) / len(wanted)


def phrases_for(term: str) -> list[str]:
    """Phrases of the term's group, for query expansion."""
    out: list[str] = []
    for group in GROUPS:
        if any(content_terms(p) == {term} for p in group):
            out += [p for p in group if p.lower() != term]
    return out
