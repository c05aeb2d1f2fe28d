"""Which passages an answer cites: every retrieved passage that supports it, up to five.

An answer rests on the passages its sentences cite, but a filing prints a figure in its
statement and again in its discussion, and a narrative point is often made on two pages.
Citing only the one passage a sentence was quoted from hides the others a reader would want
to check. So after the passages the answer cites (and those the fact check found for it),
the answer also cites, in rank order, the passages that

- state one of its claims on their own (`factcheck.corroborating`), or
- were graded nearly as high as the best passage it cites (at least `CLOSE_GRADE` of it)
  and carry words of its supported claims (a claim's line item or topic, not only the
  company or the period).

A passage that carries nothing the answer states is never cited; an answer with no
supported claim ("I could not find this") cites only what it marks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from beacon_rag_query.domain import Evidence
from beacon_rag_query.factcheck import FactCheck, corroborating
from beacon_rag_query.text import content_terms, markers

MAX_CITATIONS = 5
CLOSE_GRADE = 0.85
MIN_SHARED_TERMS = 2


def citation_order(
    response: str,
    fact: FactCheck,
    evidence: Sequence[Evidence],
    *,
    company_names: Mapping[str, str] | None = None,
    limit: int = MAX_CITATIONS,
) -> list[int]:
    """Evidence indices to cite, in this order: the markers the kept answer writes, the
    support the fact check found, then the passages that corroborate it or carry its claims'
    words with a grade close to the best cited one (each in rank order), at most `limit`."""
    by_index = {e.index: e for e in evidence}
    order = [i for i in markers(response) if i in by_index][:limit]

    def add(indices: Iterable[int]) -> None:
        for i in indices:
            if i in by_index and i not in order and len(order) < limit:
                order.append(i)

    add(fact.support)
    add(corroborating(fact, evidence, company_names=company_names))
    add(_close_and_on_topic(fact, evidence, order, company_names or {}))
    return order


def _close_and_on_topic(fact: FactCheck, evidence: Sequence[Evidence], cited: Sequence[int],
                        names: Mapping[str, str]) -> list[int]:
    claims = [c for c in fact.claims if c.supported]
    if not claims or not cited:
        return []
    by_index = {e.index: e for e in evidence}
    best = max(by_index[i].score for i in cited if i in by_index)
    # The words of the answer's claims, less what every passage of the filing shares anyway.
    entity = set()
    for e in evidence:
        entity |= content_terms(" ".join(p for p in (e.company_symbol or "", names.get(e.company_symbol or "", ""),
                                                     e.document_title) if p).replace(".", " "))
    topic = set().union(*(content_terms(c.sentence) for c in claims)) - entity - _FRAMING
    chosen = []
    for e in evidence:  # evidence is in rank order
        if e.index in cited or e.document_id is None or e.score < CLOSE_GRADE * best:
            continue
        found = content_terms(f"{e.text} {e.section or ''}")
        if len(topic & found) >= min(MIN_SHARED_TERMS, len(topic)) and topic & found:
            chosen.append(e.index)
    return chosen


# Period and framing words an answer sentence writes around a claim: sharing them says nothing.
_FRAMING = frozenset(content_terms(
    "fy fiscal financial quarter half year ended ending month months nine three six twelve "
    "january february march april may june july august september october november december "
    "consolidated standalone three nine grew fell rose period reported latest statement total "
    "these sentence quoted filing without language model"
))
