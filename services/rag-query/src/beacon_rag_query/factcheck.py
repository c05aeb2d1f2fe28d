"""Check an answer against the evidence it was written from.

Every sentence that makes a claim must be supported by the passages it cites (or, when it
cites none, by some passage): most of its content words appear there, and every figure in
it appears there too, compared as values ("₹9.75 lakh crore" is "₹9,74,864 crore").
Structured fundamentals, when present, are evidence as well, and figures matched there are
counted as reconciled. Unsupported claims are removed from the final response and listed.
faithfulness = supported claims / claims.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from beacon_rag_query.domain import Evidence
from beacon_rag_query.text import Amount, amounts, content_terms, markers, same_amount, sentences
from beacon_rag_query.vocabulary import coverage

MIN_COVERAGE = 0.5
# "The passages do not state ..." claims nothing about the company: not a claim.
_REFUSAL = re.compile(
    r"\b(could not find|cannot find|can't find|do(?:es)? not (?:contain|state|mention|say|"
    r"provide|include)|not (?:mentioned|stated|provided|available|disclosed)|no information)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SentenceCheck:
    sentence: str
    claim: bool
    supported: bool
    coverage: float = 0.0
    support: tuple[int, ...] = ()
    unsupported_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactCheck:
    checks: list[SentenceCheck]
    response: str
    faithfulness_score: float | None
    reconciled_numbers: int = 0
    support: list[int] = field(default_factory=list)  # evidence used, in order of first use

    @property
    def claims(self) -> list[SentenceCheck]:
        return [c for c in self.checks if c.claim]

    @property
    def unsupported(self) -> list[str]:
        return [c.sentence for c in self.checks if c.claim and not c.supported]

    def summary(self, threshold: float) -> dict[str, Any]:
        return {
            "is_faithful": self.faithfulness_score is None or self.faithfulness_score >= threshold,
            "confidence": self.faithfulness_score,
            "claims": len(self.claims),
            "unsupported_sentences": self.unsupported,
            "reconciled_numbers": self.reconciled_numbers,
        }


@dataclass
class _Source:
    evidence: Evidence
    terms: set[str]
    amounts: list[Amount]


def fact_check(
    answer: str,
    evidence: Sequence[Evidence],
    *,
    structured: Sequence[Evidence] = (),
    ignore: Collection[str] = (),
    min_coverage: float = MIN_COVERAGE,
) -> FactCheck:
    sources = {e.index: _source(e) for e in evidence}
    structured_sources = [_source(e) for e in structured]
    ignored = {" ".join(s.split()) for s in ignore}
    checks: list[SentenceCheck] = []
    kept_lines: list[str] = []
    reconciled = 0
    used: list[int] = []
    for line in answer.splitlines():
        kept: list[str] = []
        for sentence in sentences(line):
            check, matched_structured = _check(
                sentence, sources, structured_sources, ignored, min_coverage
            )
            reconciled += matched_structured
            checks.append(check)
            if check.supported or not check.claim:
                kept.append(sentence)
                used += [i for i in check.support if i not in used]
        if kept:
            kept_lines.append(" ".join(kept))
    claims = [c for c in checks if c.claim]
    score = round(sum(c.supported for c in claims) / len(claims), 4) if claims else None
    return FactCheck(checks, "\n".join(kept_lines).strip(), score, reconciled, used)


def _source(e: Evidence) -> _Source:
    return _Source(e, content_terms(e.text + " " + e.document_title), amounts(e.text, skip_years=False))


def _check(
    sentence: str,
    sources: dict[int, _Source],
    structured: list[_Source],
    ignored: set[str],
    min_coverage: float,
) -> tuple[SentenceCheck, int]:
    figures = amounts(sentence)
    words = content_terms(sentence)
    if (" ".join(sentence.split()) in ignored or (not figures and len(words) < 2)
            or (not figures and _REFUSAL.search(sentence))):
        return SentenceCheck(sentence, claim=False, supported=True), 0
    cited = [sources[i] for i in markers(sentence) if i in sources]
    if cited:
        coverage = _coverage(words, set().union(*(s.terms for s in cited)))
        support = [s.evidence.index for s in cited]
        pool = cited
    else:
        best = max(sources.values(), key=lambda s: _coverage(words, s.terms), default=None)
        coverage = _coverage(words, best.terms) if best else 0.0
        support = [best.evidence.index] if best else []
        pool = list(sources.values())
    missing, from_structured = [], 0
    for figure in figures:
        holder = _holder(figure, pool)
        if holder is not None:
            if holder.evidence.index not in support:
                support.append(holder.evidence.index)
        elif _holder(figure, structured) is not None:
            from_structured += 1
        else:
            missing.append(figure.text)
    if structured and not cited and coverage < min_coverage:
        # A sentence written from structured data is worded like it, not like a passage.
        coverage = max(coverage, max(_coverage(words, s.terms) for s in structured))
    supported = coverage >= min_coverage and not missing
    return SentenceCheck(
        sentence, claim=True, supported=supported, coverage=round(coverage, 3),
        support=tuple(support) if supported else (), unsupported_numbers=tuple(missing),
    ), from_structured


def _coverage(words: set[str], found: set[str]) -> float:
    return coverage(words, found)


def _holder(figure: Amount, pool: Sequence[_Source]) -> _Source | None:
    for source in pool:
        if any(same_amount(figure, known) for known in source.amounts):
            return source
    return None
