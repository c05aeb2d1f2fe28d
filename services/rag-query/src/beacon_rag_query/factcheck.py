"""Check an answer against the evidence it was written from.

Claims are the answer's sentences and the numbers in them. A sentence is supported when
most of its content words appear in the passages it cites (or, citing none, in the passage
that matches it best); a number when it appears there as a value ("₹9.75 lakh crore" is
"₹9,74,864 crore"), when it restates a number an earlier supported sentence established,
or when it is derived from supported numbers of the same sentence (growth, a ratio, a sum or
difference, days, CAGR: "4.6%: (20,158 − 19,277) / 19,277"). Structured fundamentals, when
present, are evidence as well, and figures matched there are counted as reconciled.

faithfulness = supported claims / claims. A sentence with an unsupported word coverage or an
unsupported number is removed from the final response and listed.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beacon_rag_query.domain import Evidence
from beacon_rag_query.statements import read_rows
from beacon_rag_query.text import Amount, amounts, content_terms, markers, same_amount, sentences, strip_markers
from beacon_rag_query.vocabulary import coverage

MIN_COVERAGE = 0.5
# "The passages do not state ..." claims nothing about the company: not a claim.
_REFUSAL = re.compile(
    r"\b(could not find|cannot find|can't find|do(?:es)? not (?:contain|state|mention|say|"
    r"provide|include)|not (?:mentioned|stated|provided|available|disclosed)|no information|"
    r"not confident)\b",
    re.IGNORECASE,
)
# Words an answer uses to frame a figure (its period, scope, arithmetic), not claims about
# the company that a passage must repeat.
_FRAMING = frozenset(content_terms(
    "fy fiscal financial quarter half year years ended ending month months nine three six twelve "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec consolidated standalone "
    "grew fell rose growth increase decrease declined computed over against higher lower faster "
    "slower same than per cent percent times day days ratio margin cagr figure period reported "
    "latest statement"
))
# Numbers that belong to a formula, not to the filing: × 365, ^(1/4), "− 1", "5 years".
_CONSTANTS = re.compile(
    r"[×x*]\s*(?:365|366|360|100|12)\b|\^\s*\(\s*1\s*/\s*\d{1,2}\s*\)|\)\s*[−-]\s*1\b|/\s*2\s*\)|"
    r"\b\d{1,2}[\s-]years?\b",
    re.IGNORECASE,
)


_MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class SentenceCheck:
    sentence: str
    claim: bool
    supported: bool
    coverage: float = 0.0
    support: tuple[int, ...] = ()
    numbers: int = 0  # figures in the sentence; each is a claim of its own
    supported_numbers: int = 0
    derived_numbers: tuple[str, ...] = ()
    unsupported_numbers: tuple[str, ...] = ()
    worded: bool = False  # the words are supported, whatever the numbers


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

    @property
    def derived(self) -> list[str]:
        return [n for c in self.checks for n in c.derived_numbers]

    def summary(self, threshold: float) -> dict[str, Any]:
        return {
            "is_faithful": self.faithfulness_score is None or self.faithfulness_score >= threshold,
            "confidence": self.faithfulness_score,
            "claims": len(self.claims) + sum(c.numbers for c in self.claims),
            "unsupported_sentences": self.unsupported,
            "derived_numbers": self.derived,
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
    company_names: Mapping[str, str] | None = None,
) -> FactCheck:
    """`company_names` by symbol: a passage of a company's filing is about that company,
    whether or not its text repeats the name."""
    names = company_names or {}
    sources = {e.index: _source(e, names) for e in evidence}
    structured_sources = [_source(e, names) for e in structured]
    ignored = {" ".join(s.split()) for s in ignore}
    checks: list[SentenceCheck] = []
    kept_lines: list[str] = []
    reconciled = 0
    used: list[int] = []
    established: list[Amount] = []  # numbers of supported sentences, for later restatements
    for line in answer.splitlines():
        kept: list[str] = []
        for sentence in sentences(line):
            check, matched_structured, found = _check(
                sentence, sources, structured_sources, ignored, min_coverage, established
            )
            reconciled += matched_structured
            checks.append(check)
            if check.supported or not check.claim:
                kept.append(sentence)
                established += found
                used += [i for i in check.support if i not in used]
        if kept:
            kept_lines.append(" ".join(kept))
    claims = [c for c in checks if c.claim]
    total = len(claims) + sum(c.numbers for c in claims)
    supported = sum(c.worded for c in claims) + sum(c.supported_numbers for c in claims)
    score = round(supported / total, 4) if total else None
    return FactCheck(checks, "\n".join(kept_lines).strip(), score, reconciled, used)


def corroborating(
    fact: FactCheck,
    evidence: Sequence[Evidence],
    *,
    company_names: Mapping[str, str] | None = None,
    min_coverage: float = MIN_COVERAGE,
) -> list[int]:
    """Passages the answer does not cite that support one of its supported claims on their
    own, by the same rules: a filing prints a figure in its statement and again in its
    discussion, and both are sources of the answer. Every figure of the claim must be in the
    passage (a derived number does not count), in evidence order."""
    names = company_names or {}
    claims = [c for c in fact.claims if c.supported]
    found: list[int] = []
    for e in evidence:
        if e.index in fact.support or e.document_id is None:
            continue
        source = {e.index: _source(e, names)}
        for claim in claims:
            check, _, _ = _check(_MARKER.sub("", claim.sentence), source, [], set(), min_coverage, [])
            if check.supported and not check.derived_numbers and (claim.numbers == 0) == (check.numbers == 0):
                found.append(e.index)
                break
    return found


def _source(e: Evidence, names: Mapping[str, str]) -> _Source:
    about = " ".join(p for p in (e.document_title, e.section, e.company_symbol,
                                 names.get(e.company_symbol or "")) if p)
    return _Source(e, content_terms(f"{e.text} {about.replace('.', ' ')}"),
                   amounts(e.text, skip_years=False) + _table_percentages(e))


def _table_percentages(e: Evidence) -> list[Amount]:
    """Cells a table presents as percentages without a % sign on each ("Operating margin
    (%) 20.3 21.1", "Change %: 8.9")."""
    found: list[Amount] = []
    for row in read_rows(e.text, section=e.section, filing_period=e.fiscal_period):
        for cell, column in zip(row.cells, row.columns, strict=True):
            if cell.value is not None and (row.percent or (column is not None and column.change)):
                found += amounts(f"{cell.text.strip('()%')}%")
    return found


def _check(
    sentence: str,
    sources: dict[int, _Source],
    structured: list[_Source],
    ignored: set[str],
    min_coverage: float,
    established: list[Amount],
) -> tuple[SentenceCheck, int, list[Amount]]:
    figures = amounts(_CONSTANTS.sub(" ", _CONSTANTS.sub(" ", sentence)))
    words = content_terms(sentence) - _FRAMING
    if (" ".join(sentence.split()) in ignored or (not figures and len(words) < 2)
            or (not figures and _REFUSAL.search(sentence))):
        return SentenceCheck(sentence, claim=False, supported=True), 0, []
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
    found: list[Amount] = []
    pending: list[Amount] = []
    from_structured = 0
    for figure in figures:
        holder = _holder(figure, pool)
        if holder is not None:
            if holder.evidence.index not in support:
                support.append(holder.evidence.index)
            found.append(figure)
        elif any(same_amount(figure, known) for known in established):
            found.append(figure)
        elif _holder(figure, structured) is not None:
            from_structured += 1
            found.append(figure)
        else:
            pending.append(figure)
    shown = _formula_value(sentence)
    derived = [f for f in pending if _derivable(f, found) or (shown is not None and _is_result(f, shown))]
    missing = [f.text for f in pending if f not in derived]
    if structured and not cited and coverage < min_coverage:
        # A sentence written from structured data is worded like it, not like a passage.
        coverage = max(coverage, max(_coverage(words, s.terms) for s in structured))
    worded = coverage >= min_coverage or (not words and bool(figures))
    supported = worded and not missing
    check = SentenceCheck(
        sentence, claim=True, supported=supported, coverage=round(coverage, 3),
        support=tuple(support) if supported else (), numbers=len(figures),
        supported_numbers=len(figures) - len(missing), derived_numbers=tuple(f.text for f in derived),
        unsupported_numbers=tuple(missing), worded=worded,
    )
    return check, from_structured, [*found, *derived]


def _coverage(words: set[str], found: set[str]) -> float:
    return coverage(words, found) if words else 1.0


def _holder(figure: Amount, pool: Sequence[_Source]) -> _Source | None:
    for source in pool:
        if any(same_amount(figure, known) for known in source.amounts):
            return source
    return None


def _derivable(claim: Amount, inputs: Sequence[Amount]) -> bool:
    """A number computed from two supported numbers of the same sentence: growth, ratio,
    percentage, sum, difference, days (× 365) or a compound annual rate over 1-15 years."""
    values = [a.raw for a in inputs if a.kind == "value"]
    target = abs(claim.raw)
    tolerance = claim.raw_step / 2 * 1.0001 + 1e-9

    def close(x: float) -> bool:
        return abs(abs(x) - target) <= tolerance

    for a, b in itertools.permutations(dict.fromkeys(values), 2):
        if b == 0:
            continue
        ratio = a / b
        if claim.kind == "percent":
            if close((a - b) / b * 100) or close(ratio * 100):
                return True
            if a > 0 and b > 0 and any(close((ratio ** (1 / n) - 1) * 100) for n in range(1, 16)):
                return True
        elif close(ratio) or close(ratio * 365) or close(a + b) or close(a - b):
            return True
    return False


# The formula an answer shows after its result: "16.4%: 3,313 / ((16,446 + 17,419) / 2), from ...".
_FORMULA = re.compile(r":\s*(?P<formula>[\d,.()\s+−\-/×*^]*\d[\d,.()\s+−\-/×*^]*?)\s*(?:,\s*from\b|\.?\s*$)")
_OPERATORS = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
              ast.Div: float.__truediv__, ast.Pow: float.__pow__}


def _formula_value(sentence: str) -> float | None:
    """The value of the formula a sentence shows, or None. Its numbers are the sentence's own
    figures (each checked against the passages like any other), so a result that equals it is
    derived from supported inputs, however many the formula takes."""
    m = _FORMULA.search(strip_markers(sentence))
    if m is None:
        return None
    expression = m.group("formula").replace("−", "-").replace("×", "*").replace("^", "**")
    expression = re.sub(r"(?<=\d),(?=\d)", "", expression)
    try:
        return _evaluate(ast.parse(expression.strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        value = _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
        if isinstance(value, complex):
            raise ValueError("not a real number")
        return value
    raise ValueError("not arithmetic")


def _is_result(claim: Amount, value: float) -> bool:
    """The claim is the formula's value, as a number, a percentage or days."""
    tolerance = claim.raw_step / 2 * 1.0001 + 1e-9
    target = abs(claim.raw)
    candidates = (value * 100, value) if claim.kind == "percent" else (value,)
    return any(abs(abs(c) - target) <= tolerance for c in candidates)
