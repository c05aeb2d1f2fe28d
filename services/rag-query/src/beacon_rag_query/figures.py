"""Figures for a question: which line item and period it asks for, the statement row and
column that hold it, and the arithmetic a derived metric needs.

`read_question` decides what kind of question it is (a line item, a derived metric, a
comparison, or narrative); `find_figures` reads the evidence's statement rows
(`statements.py`) and prose, and returns the `Figure`s (value, unit, period, the passage
that holds it) and `Computation`s (growth, margins, ratios, days, CAGR, with the formula and
its inputs). Both the offline answerer and the model's prompt are built from the result.
Pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from beacon_rag_query.domain import Evidence
from beacon_rag_query.lineitems import (
    BY_KEY,
    CAGR,
    FREE_CASH_FLOW,
    GROWTH,
    LINE_ITEMS,
    RATIOS,
    LineItem,
    Ratio,
)
from beacon_rag_query.periods import FiscalPeriod, period_from_label, previous
from beacon_rag_query.statements import Column, Row, Unit, declared, read_rows
from beacon_rag_query.text import Amount, amounts, content_terms, indian_grouping, sentences

_NARRATIVE = re.compile(
    r"\b(why|explain|describe|discuss|risks?|strateg\w*|outlook|guidance|plans?|priorit\w*|"
    r"highlights?|challenges?|initiatives?|policy|policies|approach|opinion|comment\w*|"
    r"summar\w*|overview|reasons?|drivers?|impact|what does|what did .* say)\b",
    re.IGNORECASE,
)
_FIGURE_WORDS = re.compile(r"\b(how much|how many|total|amount|value|figure)\b", re.IGNORECASE)
_ASKS_WHAT = re.compile(r"^\s*(what|which)\s+(was|is|were|are)\b", re.IGNORECASE)
_STANDALONE = re.compile(r"\bstand[\s-]?alone\b", re.IGNORECASE)
_CONSOLIDATED = re.compile(r"\bconsolidated\b", re.IGNORECASE)
_COMPARE = re.compile(r"\b(compare[ds]?|comparison|versus|vs\.?|against|relative to)\b", re.IGNORECASE)
_DILUTED = re.compile(r"\bdiluted\b", re.IGNORECASE)
_YEARS = re.compile(r"\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)[\s-]+years?\b", re.IGNORECASE)
_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10}
# Words of a question that say nothing about which row answers it.
_GENERIC = frozenset(
    "what was were is are the how much many did does value amount figure total reported report "
    "company group consolidated standalone fy fiscal financial year quarter half period ended end "
    "as at of in for during give tell state show".split()
)


# ---- the question -------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureQuestion:
    kind: str  # "line_item", "ratio", "growth", "cagr", "free_cash_flow", "narrative"
    item: LineItem | None = None
    ratio: Ratio | None = None
    terms: frozenset[str] = frozenset()  # the question's words, without names and periods
    named: frozenset[str] = frozenset()  # the words that named the line item or ratio
    scope: str | None = None  # asked "consolidated" or "standalone"
    companies: tuple[str, ...] = ()
    periods: tuple[FiscalPeriod, ...] = ()
    years: int | None = None  # "5-year CAGR"
    diluted: bool = False

    @property
    def is_figure(self) -> bool:
        return self.kind != "narrative"

    @property
    def comparison(self) -> bool:
        return len(self.companies) >= 2


def read_question(
    question: str,
    companies: Sequence[str] = (),
    periods: Sequence[FiscalPeriod] = (),
    entity_words: Sequence[str] = (),
) -> FigureQuestion:
    """What figure a question asks for, if any. `entity_words`: company names and tickers,
    which are not part of a line item's name."""
    scope = "standalone" if _STANDALONE.search(question) else (
        "consolidated" if _CONSOLIDATED.search(question) else None)
    ignore = set(_GENERIC)
    for word in entity_words:
        ignore |= content_terms(word)
    terms = frozenset(t for t in content_terms(question) if t not in ignore)
    years = _years(question)
    common = dict(terms=terms, scope=scope, companies=tuple(companies), periods=tuple(periods),
                  years=years, diluted=bool(_DILUTED.search(question)))
    ratio = next((r for r in RATIOS if r.asked.search(question)), None)
    if ratio is not None:
        return FigureQuestion("ratio", ratio=ratio, named=_named(ratio.asked, question), **common)
    if FREE_CASH_FLOW.search(question):
        return FigureQuestion("free_cash_flow", item=BY_KEY["operating_cash_flow"],
                              named=_named(FREE_CASH_FLOW, question), **common)
    item = _asked_item(question)
    if item is not None:
        common["named"] = _named(item.asked, question)
    if CAGR.search(question):
        return FigureQuestion("cagr", item=item, **common)
    narrative = bool(_NARRATIVE.search(question)) and not _FIGURE_WORDS.search(question)
    if GROWTH.search(question) and (item is not None or terms) and not narrative:
        return FigureQuestion("growth", item=item, **common)
    if item is not None and not narrative:
        return FigureQuestion("line_item", item=item, **common)
    if terms and (_FIGURE_WORDS.search(question) or _ASKS_WHAT.search(question)) and not narrative:
        return FigureQuestion("line_item", **common)  # a row named by the question's own words
    return FigureQuestion("narrative", **common)


def _named(pattern: re.Pattern, question: str) -> frozenset[str]:
    return frozenset(t for m in pattern.finditer(question) for t in content_terms(m.group(0)))


def _asked_item(question: str) -> LineItem | None:
    """The line item whose wording appears in the question; the longest mention wins
    ("profit before tax" over "profit", "cost of sales" over "sales")."""
    best: tuple[int, int, LineItem] | None = None
    for order, item in enumerate(LINE_ITEMS):
        for m in item.asked.finditer(question):
            length = m.end() - m.start()
            if best is None or length > best[0]:
                best = (length, -order, item)
    return best[2] if best else None


def _years(question: str) -> int | None:
    m = _YEARS.search(question)
    if not m:
        return None
    word = m.group(1).lower()
    return _WORD_NUMBERS.get(word) or (int(word) if word.isdigit() else None)


# ---- what was found -----------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One value of one line item, as a statement row (or a sentence) states it."""

    company: str | None
    item: str  # the line item's name in the answer: the filing's label, lower-cased
    label: str  # the row label as the filing writes it
    value: float
    text: str  # as the answer writes it, in the filing's units: "₹9,74,864 crore"
    number: str  # the digits as the filing writes them: "9,74,864"
    period: str  # "FY2024 (year ended March 31, 2024)"
    period_label: str | None  # "FY2024" when known
    scope: str | None
    evidence: int  # the [n] of the passage that holds it
    unit: Unit | None = None
    percent: bool = False
    change: bool = False  # a growth rate the filing states ("grew 6.8%"), not a level


@dataclass(frozen=True)
class Computation:
    """A derived number with the formula and the figures it was computed from."""

    company: str | None
    name: str  # "revenue growth", "net profit margin"
    value: float
    text: str  # "4.6%", "1.98 times", "73 days"
    formula: str  # "(20,158 − 19,277) / 19,277"
    inputs: tuple[Figure, ...]
    period: str

    @property
    def evidence(self) -> list[int]:
        out: list[int] = []
        for figure in self.inputs:
            if figure.evidence not in out:
                out.append(figure.evidence)
        return out


@dataclass
class FigureAnswer:
    question: FigureQuestion
    figures: list[Figure] = field(default_factory=list)
    computations: list[Computation] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # companies or periods nothing was found for

    @property
    def found(self) -> bool:
        return bool(self.figures or self.computations)

    def facts(self, names: Mapping[str, str] | None = None) -> list[str]:
        """The figures as data lines for a model's prompt, each with its passage marker."""
        names = names or {}
        lines = []
        for f in self.figures:
            scope = f" ({f.scope})" if f.scope else ""
            who = names.get(f.company or "") or f.company or "the company"
            what = "growth of " if f.change else ""
            lines.append(f"[{f.evidence}] {who}: {what}{f.label}{scope}, {f.period}: {f.text}")
        for c in self.computations:
            cited = ", ".join(f"[{i}]" for i in c.evidence)
            who = names.get(c.company or "") or c.company or "the company"
            lines.append(f"computed from {cited}: {who} {c.name}, {c.period}: {c.text} = {c.formula}")
        return lines


# ---- rows of the evidence -----------------------------------------------------------------


@dataclass(frozen=True)
class _Sourced:
    row: Row
    evidence: Evidence


def evidence_rows(evidence: Sequence[Evidence]) -> list[_Sourced]:
    """Every statement row of every passage; a row whose passage does not say its unit or
    scope takes them from another passage of the same page (a chunk cut below the title)."""
    rows: list[_Sourced] = []
    page_units: dict[tuple, Unit] = {}
    page_scopes: dict[tuple, str] = {}
    parsed = []
    for e in evidence:
        found = read_rows(e.text, section=e.section, title=e.document_title,
                          filing_period=e.fiscal_period)
        parsed.append((e, found))
        key = (e.document_id, e.page_number)
        unit, scope = declared(e.text)
        for row in found:
            unit, scope = unit or row.unit, scope or row.scope
        if unit is not None:
            page_units.setdefault(key, unit)
        if scope is not None:
            page_scopes.setdefault(key, scope)
    for e, found in parsed:
        key = (e.document_id, e.page_number)
        for row in found:
            if row.unit is None and key in page_units:
                row = _replace(row, unit=page_units[key])
            if row.scope is None and key in page_scopes:
                row = _replace(row, scope=page_scopes[key])
            rows.append(_Sourced(row, e))
    return rows


def _replace(row: Row, **changes) -> Row:
    from dataclasses import replace

    return replace(row, **changes)


# ---- finding one figure -------------------------------------------------------------------


def _clean_label(label: str) -> str:
    text = re.sub(r"\((?:[a-z]|[ivx]+|refer[^)]*|note[^)]*|net|\$|₹|rs\.?)\)", " ", label, flags=re.I)
    return " ".join(text.lower().replace("’", "'").split()).strip(" :-")


def answer_name(label: str) -> str:
    """A row label as a sentence names it: "Basic EPS ($)" -> "basic EPS",
    "Revenue from operations" -> "revenue from operations"."""
    text = re.sub(r"\((?:[a-z]|[ivx]+|refer[^)]*|note[^)]*|\$|₹|rs\.?|in [^)]*)\)", " ", label, flags=re.I)
    shouting = sum(1 for w in text.split() if w.isupper()) >= 2  # "PROFIT FOR THE PERIOD"
    words = []
    for word in text.split():
        letters = [c for c in word if c.isalpha()]
        acronym = len(letters) >= 2 and all(c.isupper() for c in letters)
        keep = acronym and (not shouting or word.strip("(),.:") in _ACRONYMS)
        words.append(word if keep else word.lower())
    return " ".join(words).strip(" :-")


_ACRONYMS = frozenset("EPS EBITDA EBIT PAT PBT OCI GST CSR FCF ROE ROA NPA CASA NIM IT US USD INR "
                      "IFRS GAAP".split())


def _label_score(item: LineItem, label: str) -> tuple[float, int] | None:
    """How well a row label names the item (0..1) and where the match starts, or None."""
    clean = _clean_label(label)
    if item.exclude is not None and item.exclude.search(clean):
        return None
    patterns = item.labels
    if not any(p.search(clean) for p in patterns) and _broken(clean):
        # Text extracted with stray spaces inside words ("Ea rni ngs per equity s ha re").
        clean = clean.replace(" ", "")
        patterns = tuple(_squashed(p) for p in patterns)
    for rank, pattern in enumerate(patterns):
        # A heading may precede the label ("ASSETS Current assets Cash and cash equivalents"):
        # try the label from each word on.
        starts = [0] + [m.end() for m in re.finditer(r"\s", clean)]
        for start in starts:
            tail = clean[start:]
            m = pattern.search(tail)
            if m:
                tight = (m.end() - m.start()) / max(len(tail), 1)
                return (1.0 - rank / (len(patterns) + 1)) * (0.6 + 0.4 * tight), start
    return None


def _broken(label: str) -> bool:
    words = re.findall(r"[a-z]+", label)
    return sum(len(w) <= 2 and w not in ("of", "and", "to", "in", "on", "at", "or", "by") for w in words) >= 2


def _squashed(pattern: re.Pattern) -> re.Pattern:
    source = re.sub(r"\\s[+*?]?|\\b| ", "", pattern.pattern).lstrip("^")
    return re.compile(source, pattern.flags)


def _terms_score(terms: frozenset[str], label: str, whole: bool = False) -> float | None:
    """A row named by the question's own words: most of the label's words are asked for.
    `whole`: every word of a label of two words or more, the way the question writes it."""
    words = content_terms(_clean_label(label))
    if not words or not terms:
        return None
    shared = len(words & terms)
    if shared == 0:
        return None
    if whole:
        return 1.0 if shared == len(words) >= 2 else None
    score = shared / len(words) * (shared / len(terms))
    return score if shared / len(words) >= 0.6 else None


def months_of(period: FiscalPeriod) -> int:
    return {"FY": 12, "H": 6, "Q": 3}[period.kind]


def column_is(column: Column | None, period: FiscalPeriod) -> bool:
    if column is None:
        return False
    if column.fiscal is not None:
        return column.fiscal == period.label
    if column.end is None:
        return False
    same_end = (column.end.year, column.end.month) == (period.end.year, period.end.month)
    return same_end and (column.point or column.months in (months_of(period), None))


def _describe(column: Column | None, period: FiscalPeriod | None) -> tuple[str, str | None]:
    if period is not None:
        if column is not None and column.end is not None and not column.assumed:
            return f"{period.label} ({column.describe()})", period.label
        return period.label, period.label
    if column is None:
        return "the latest period reported", None
    label = column.fiscal
    if label is None and column.end is not None and column.months in (3, 6, 12):
        kind = {3: "Q", 6: "H", 12: "FY"}[column.months]
        from beacon_rag_query.periods import period_of

        label = period_of(column.end, kind).label
    text = column.describe()
    return (f"{label} ({text})" if label and label != text else text), label


@dataclass(frozen=True)
class _Candidate:
    score: float
    figure: Figure


_BREAKDOWN_WORDS = frozenset(content_terms("segment segments business businesses division vertical "
                                           "unit geography region market"))


def find_item(
    item: LineItem | None,
    terms: frozenset[str],
    rows: Sequence[_Sourced],
    *,
    company: str | None,
    period: FiscalPeriod | None,
    scope: str | None,
    named: frozenset[str] = frozenset(),
    diluted: bool = False,
    change: bool = False,
) -> Figure | None:
    """The best statement row and column for a line item of one company and period.

    A row matches by its label (the catalogue's labels, or the question's own words), or as
    a breakdown: a row named by the question's other words ("Retail" for "revenue of the
    Retail segment") whose column names the item ("Revenue FY2024"). `change`: the row's
    change column ("Change %") instead of a period's value."""
    best: _Candidate | None = None
    leftover = terms - named - _BREAKDOWN_WORDS
    for sourced in rows:
        row, e = sourced.row, sourced.evidence
        if company is not None and e.company_symbol not in (None, company):
            continue
        if scope is not None and row.scope is not None and row.scope != scope:
            continue
        matched = _row_match(item, terms, leftover, row, diluted)
        if matched is None:
            continue
        label_score, start, breakdown = matched
        index = _change_column(row) if change else _column_for(row, period, e, item, breakdown)
        if index is None or (change and period is not None and _column_for(row, period, e, item, False) is None):
            continue
        cell = row.cells[index]
        if cell.value is None:
            continue
        column = row.columns[index]
        exact = period is not None and (change or column_is(column, period))
        if period is not None:
            period_text, period_label = _describe(column if exact and not change else None, period)
        else:
            period_text, period_label = _describe(None if change else column, None)
        score = (
            3.0 * label_score
            + (1.0 if exact else 0.4)
            + {"consolidated": 0.5, None: 0.25, "standalone": 0.0}[row.scope] * (scope is None)
            + (0.3 if row.statement else 0.0)
            + (0.2 if row.unit is not None else 0.0)
            + 0.3 * min(max(e.score, 0.0), 1.0)
        )
        clean = " ".join(row.label.split()[len(row.label[:start].split()):]) or row.label
        name = item.name if item is not None and _broken(_clean_label(clean)) else answer_name(clean)
        if breakdown and item is not None:
            kind = next((w for w in ("segment", "business", "division", "region") if w in terms), "")
            what = "revenue" if item.key == "revenue" else item.name
            name = f"{what} of the {clean}{' ' + kind if kind else ''}"
        figure = Figure(
            company=company or e.company_symbol, item=name, label=clean, value=cell.value,
            text=f"{cell.text.rstrip('%')}%" if change else row.render(cell),
            number=cell.text.strip("()%"), period=period_text, period_label=period_label,
            scope=row.scope, evidence=e.index, unit=None if change else row.unit,
            percent=change or row.percent, change=change,
        )
        if best is None or score > best.score:
            best = _Candidate(score, figure)
    return best.figure if best else None


def _row_match(item: LineItem | None, terms: frozenset[str], leftover: frozenset[str], row: Row,
               diluted: bool) -> tuple[float, int, bool] | None:
    """(label score, where the label starts after any heading, whether a breakdown row)."""
    if item is not None and leftover and _names_breakdown(leftover, row.label) and any(
            c is not None and _column_names(item, c) for c in row.columns):
        return 1.1, 0, True
    if item is None:
        score = _terms_score(terms, row.label)
        return (score, 0, False) if score else None
    matched = _label_score(item, row.label)
    exact_words = _terms_score(terms, row.label, whole=True)
    if exact_words:
        # The question names this row in its own words ("unbilled revenue").
        matched = (max(exact_words, matched[0] if matched else 0.0), 0)
    if matched is None:
        return None
    score, start = matched
    if item.key == "eps" and diluted != bool(_DILUTED.search(row.label)):
        score *= 0.5
    return score, start, False


def _names_breakdown(leftover: frozenset[str], label: str) -> bool:
    words = content_terms(_clean_label(label))
    return bool(words) and words <= leftover | _BREAKDOWN_WORDS and bool(words & leftover)


def _column_names(item: LineItem, column: Column) -> bool:
    text = column.text.lower()
    return bool(item.asked.search(text) or any(p.search(text) for p in item.labels))


def _change_column(row: Row) -> int | None:
    return next((i for i, c in enumerate(row.columns) if c is not None and c.change), None)


def _column_for(row: Row, period: FiscalPeriod | None, e: Evidence, item: LineItem | None = None,
                breakdown: bool = False) -> int | None:
    """The cell of the asked period; without one, the current period (first column). Of two
    columns of the period, the one whose header names the item ("Revenue FY2024")."""
    candidates = [i for i, c in enumerate(row.columns) if c is None or not c.change]
    if breakdown and item is not None:
        candidates = [i for i in candidates if row.columns[i] is not None and _column_names(item, row.columns[i])]
    if not candidates:
        return None
    if period is None:
        return candidates[0]
    matches = [i for i in candidates if column_is(row.columns[i], period)]
    if len(matches) > 1 and item is not None:
        named = [i for i in matches if _column_names(item, row.columns[i])]
        matches = named or matches
    if matches:
        # Two columns ending the same month with no stated length: quarter columns come first
        # in Indian result formats, year-to-date ones after them.
        return matches[-1] if period.kind == "FY" and len(matches) > 1 else matches[0]
    if all(row.columns[i] is None for i in candidates):
        filed = period_from_label(e.fiscal_period) if e.fiscal_period else None
        if filed is not None and filed == period:
            return candidates[0]  # an unlabelled current-period column of this period's own filing
    return None


_PERIOD_MENTION = re.compile(
    r"(?<![A-Za-z0-9])(?:[QH]\s?[1-4]\s?)?(?:FY|fiscal(?:\s+year)?|financial\s+year)\s?'?\d{2,4}"
    r"(?:\s?-\s?\d{2,4})?|(?<![\w-])(?:19|20)\d{2}\s?-\s?\d{2}(?![\w-])",
    re.IGNORECASE,
)
_DECLINE = re.compile(r"\b(fell|fall|decline[ds]?|decrease[ds]?|down|lower|drop(ped)?|contracted)\b",
                      re.IGNORECASE)


def find_in_prose(
    item: LineItem | None,
    terms: frozenset[str],
    evidence: Sequence[Evidence],
    *,
    company: str | None,
    period: FiscalPeriod | None,
    percent: bool = False,
) -> Figure | None:
    """A figure stated in a sentence: "Net profit for FY2024 was ₹79,020 crore, up 7.3%".

    The amount is the first one after the line item's mention (a percentage when `percent`,
    as for "grew 6.8%"); when the sentence names several periods, the one written nearest
    the amount is its period ("₹1,53,670 crore in FY2024, a growth of 4.7% over FY2023")."""
    best: tuple[float, Figure] | None = None
    for e in evidence:
        if company is not None and e.company_symbol not in (None, company):
            continue
        filed = period_from_label(e.fiscal_period) if e.fiscal_period else None
        for sentence in sentences(e.text):
            if "|" in sentence:
                continue
            mention = _mention(item, terms, sentence)
            if mention is None:
                continue
            named = [(m.start(), _label_of(m.group(0))) for m in _PERIOD_MENTION.finditer(sentence)]
            named = [(at, label) for at, label in named if label]
            for at, amount in _amounts_after(sentence, mention[1]):
                if (amount.kind == "percent") != percent:
                    continue
                if named:
                    nearest = min(named, key=lambda n: abs(n[0] - at))[1]
                    # A rate names its base period too ("4.7% over FY2023"): any mention of
                    # the asked period will do; an amount belongs to the nearest one.
                    labels = {n[1] for n in named} if percent else {nearest}
                    if period is not None and period.label not in labels:
                        continue
                    label = period.label if period is not None else nearest
                else:
                    if period is not None and filed != period:
                        continue
                    label = period.label if period else e.fiscal_period
                value = amount.value
                if percent and _DECLINE.search(sentence[mention[0]:at]):
                    value = -value
                number = re.search(r"\d[\d,]*(?:\.\d+)?", amount.text)
                name = answer_name(sentence[mention[0]:mention[1]])
                figure = Figure(
                    company=company or e.company_symbol, item=name, label=name, value=value,
                    text=amount.text, number=number.group(0) if number else amount.text,
                    period=label or "the period reported", period_label=label, scope=None,
                    evidence=e.index, percent=amount.kind == "percent",
                )
                score = 1.0 + 0.3 * e.score - 0.002 * (at - mention[1])
                if best is None or score > best[0]:
                    best = (score, figure)
                break
    return best[1] if best else None


def _mention(item: LineItem | None, terms: frozenset[str], sentence: str) -> tuple[int, int] | None:
    """Where the sentence names the line item (the longest mention), or None."""
    lowered = sentence.lower()
    spans: list[tuple[int, int]] = []
    if item is not None:
        spans += [m.span() for m in item.asked.finditer(sentence)]
        spans += [m.span() for p in item.labels for m in p.finditer(lowered)]
        if item.exclude is not None:
            # "Unbilled revenue", "segment revenue": look just before the mention, and at it.
            spans = [s for s in spans if not item.exclude.search(lowered[max(0, s[0] - 12):s[1]])]
    elif terms and terms <= content_terms(sentence):
        first = min((lowered.find(t) for t in terms if t in lowered), default=-1)
        if first >= 0:
            spans.append((first, first + len(min(terms, key=len))))
    if not spans:
        return None
    return max(spans, key=lambda s: (s[1] - s[0], -s[0]))


def _label_of(text: str) -> str | None:
    from beacon_rag_query.periods import parse_periods

    found = parse_periods(text, date(2000, 1, 1))
    return found[0].label if found else None


def _amounts_after(sentence: str, start: int, window: int = 120) -> list[tuple[int, Amount]]:
    tail = sentence[start:start + window]
    out = []
    cursor = 0
    for amount in amounts(tail):
        where = tail.find(amount.text.split()[0] if amount.text else "", cursor)
        where = where if where >= 0 else cursor
        cursor = where + 1
        out.append((start + where, amount))
    return out


# ---- the whole answer's figures -------------------------------------------------------------


def find_figures(
    question: FigureQuestion,
    evidence: Sequence[Evidence],
    names: Mapping[str, str],
) -> FigureAnswer:
    """Figures and computations for every company (and period) the question asks about."""
    answer = FigureAnswer(question)
    if not question.is_figure:
        return answer
    rows = evidence_rows(evidence)
    companies: list[str | None] = list(question.companies) or [None]
    for company in companies:
        _answer_for(question, company, rows, evidence, names, answer)
    return answer


def _lookup(question: FigureQuestion, item: LineItem | None, company: str | None,
            period: FiscalPeriod | None, rows, evidence, names) -> Figure | None:
    figure = find_item(item, question.terms, rows, company=company, period=period,
                       scope=question.scope, named=question.named, diluted=question.diluted)
    if figure is None and question.scope is not None:
        figure = find_item(item, question.terms, rows, company=company, period=period,
                           scope=None, named=question.named, diluted=question.diluted)
    if figure is None:
        figure = find_in_prose(item, question.terms, evidence, company=company, period=period)
    if figure is None and item is not None and item.parts:
        figure = _sum_of_parts(question, item, company, period, rows, evidence, names)
    return figure


def _sum_of_parts(question, item, company, period, rows, evidence, names) -> Figure | None:
    parts = [find_item(BY_KEY[k], question.terms, rows, company=company, period=period,
                       scope=question.scope, named=question.named) for k in item.parts]
    found = [p for p in parts if p is not None]
    if len(found) < 2 and not (item.key == "cogs" and found and found[0].label):
        return None
    if item.key == "borrowings" and len(found) < 2:
        return None
    total = sum(p.value for p in found)
    first = found[0]
    number = _format_like(total, first.number)
    unit = first.unit
    return Figure(
        company=first.company, item=item.name, label=item.name, value=total,
        text=unit.render(number) if unit else number, number=number, period=first.period,
        period_label=first.period_label, scope=first.scope, evidence=first.evidence, unit=unit,
    )


def _answer_for(question: FigureQuestion, company: str | None, rows, evidence, names,
                answer: FigureAnswer) -> None:
    periods: list[FiscalPeriod | None] = list(question.periods) or [None]
    who = names.get(company or "", company)
    if question.kind == "line_item":
        for period in periods:
            figure = _lookup(question, question.item, company, period, rows, evidence, names)
            if figure is None:
                answer.missing.append(_missing(who, period))
            else:
                answer.figures.append(figure)
        return
    if question.kind == "growth":
        _growth(question, company, periods, rows, evidence, names, answer)
        return
    if question.kind == "cagr":
        _cagr(question, company, rows, evidence, names, answer)
        return
    if question.kind == "free_cash_flow":
        for period in periods:
            ocf = _lookup(question, BY_KEY["operating_cash_flow"], company, period, rows, evidence, names)
            capex = _lookup(question, BY_KEY["capex"], company, period, rows, evidence, names)
            if ocf is None or capex is None:
                answer.missing.append(_missing(who, period))
                continue
            value = ocf.value - abs(capex.value)
            number = _format_like(value, ocf.number)
            text = ocf.unit.render(number) if ocf.unit else number
            answer.computations.append(Computation(
                company=ocf.company, name="free cash flow", value=value, text=text,
                formula=f"{ocf.number} − {capex.number.lstrip('-')}", inputs=(ocf, capex),
                period=ocf.period,
            ))
        return
    if question.kind == "ratio" and question.ratio is not None:
        for period in periods:
            computation = _ratio(question, question.ratio, company, period, rows, evidence, names)
            if computation is None:
                answer.missing.append(_missing(who, period))
            else:
                answer.computations.append(computation)


def _missing(who: str | None, period: FiscalPeriod | None) -> str:
    return " ".join(p for p in (who, period.label if period else None) if p) or "the question"


def _growth(question, company, periods, rows, evidence, names, answer: FigureAnswer) -> None:
    item = question.item
    pairs: list[tuple[FiscalPeriod | None, FiscalPeriod | None]]
    asked = [p for p in periods if p is not None]
    if len(asked) >= 2:
        ordered = sorted(asked)
        pairs = [(ordered[-1], ordered[0])]
    elif asked:
        pairs = [(asked[0], previous(asked[0]) if asked[0].kind != "Q" else _year_ago(asked[0]))]
    else:
        pairs = [(None, None)]
    who = names.get(company or "", company)
    for current_period, base_period in pairs:
        current = _lookup(question, item, company, current_period, rows, evidence, names)
        if current is None:
            answer.missing.append(_missing(who, current_period))
            continue
        if base_period is None:
            base_period = _previous_of(current)
        base = _lookup(question, item, company, base_period, rows, evidence, names) if base_period else None
        if base is None or base.value == 0:
            stated_period = current_period or (period_from_label(current.period_label)
                                               if current.period_label else None)
            stated = find_item(item, question.terms, rows, company=company, period=stated_period,
                               scope=question.scope, named=question.named, change=True)
            stated = stated or find_in_prose(item, question.terms, evidence, company=company,
                                             period=stated_period, percent=True)
            if stated is not None:
                answer.figures.append(_replace(stated, change=True))
            else:
                answer.figures.append(current)
                answer.missing.append(_missing(who, base_period))
            continue
        value = (current.value - base.value) / abs(base.value) * 100
        answer.computations.append(Computation(
            company=current.company, name=f"{current.item} growth", value=value,
            text=f"{value:.1f}%", formula=f"({current.number} − {base.number}) / {base.number}",
            inputs=(current, base), period=f"{current.period_label or current.period} over "
                                           f"{base.period_label or base.period}",
        ))


def _year_ago(period: FiscalPeriod) -> FiscalPeriod:
    return FiscalPeriod(period.fiscal_year - 1, period.kind, period.number)


def _previous_of(figure: Figure) -> FiscalPeriod | None:
    period = period_from_label(figure.period_label) if figure.period_label else None
    if period is None:
        return None
    return previous(period) if period.kind == "FY" else _year_ago(period)


def _cagr(question, company, rows, evidence, names, answer: FigureAnswer) -> None:
    asked = sorted(p for p in question.periods if p is not None)
    who = names.get(company or "", company)
    if len(asked) >= 2:
        start_period, end_period = asked[0], asked[-1]
    elif asked and question.years:
        end_period = asked[0]
        start_period = FiscalPeriod(end_period.fiscal_year - question.years, end_period.kind, end_period.number)
    else:
        answer.missing.append(_missing(who, asked[0] if asked else None))
        return
    end = _lookup(question, question.item, company, end_period, rows, evidence, names)
    start = _lookup(question, question.item, company, start_period, rows, evidence, names)
    years = end_period.fiscal_year - start_period.fiscal_year
    if end is None or start is None or years <= 0 or start.value <= 0 or end.value <= 0:
        answer.missing.append(_missing(who, start_period if start is None else end_period))
        for figure in (end, start):
            if figure is not None:
                answer.figures.append(figure)
        return
    value = ((end.value / start.value) ** (1 / years) - 1) * 100
    answer.computations.append(Computation(
        company=end.company, name=f"{end.item} CAGR", value=value, text=f"{value:.1f}%",
        formula=f"({end.number} / {start.number})^(1/{years}) − 1", inputs=(end, start),
        period=f"{start_period.label} to {end_period.label}",
    ))


def _ratio(question, ratio: Ratio, company, period, rows, evidence, names) -> Computation | None:
    top_item, bottom_item = BY_KEY[ratio.numerator], BY_KEY[ratio.denominator]
    top = _lookup(question, top_item, company, period, rows, evidence, names)
    bottom = _lookup(question, bottom_item, company, period, rows, evidence, names)
    if top is None or bottom is None or bottom.value == 0:
        return None
    inputs = [top, bottom]
    numerator, top_text = top.value, top.number
    if ratio.extra:
        extra = _lookup(question, BY_KEY[ratio.extra], company, period, rows, evidence, names)
        if extra is None:
            return None
        inputs.append(extra)
        numerator += extra.value
        top_text = f"({top.number} + {extra.number})"
    value = numerator / bottom.value
    if ratio.kind == "percent":
        value *= 100
        text = f"{value:.1f}%"
        formula = f"{top_text} / {bottom.number}"
    elif ratio.kind == "days":
        value *= 365
        text = f"{value:.0f} days"
        formula = f"{top_text} / {bottom.number} × 365"
    else:
        text = f"{value:.2f} times"
        formula = f"{top_text} / {bottom.number}"
    return Computation(
        company=top.company, name=ratio.name, value=value, text=text, formula=formula,
        inputs=tuple(inputs), period=top.period,
    )


def _format_like(value: float, example: str) -> str:
    """A computed amount written the way the filing writes its numbers."""
    decimals = len(example.split(".")[1]) if "." in example else 0
    negative = value < 0
    magnitude = abs(value)
    whole = int(round(magnitude)) if decimals == 0 else int(magnitude)
    if "," in example and _indian(example):
        digits = indian_grouping(whole)
    elif "," in example:
        digits = f"{whole:,}"
    else:
        digits = str(whole)
    if decimals:
        fraction = f"{magnitude:.{decimals}f}".split(".")[1]
        digits = f"{digits}.{fraction}"
    return f"-{digits}" if negative else digits


def _indian(number: str) -> bool:
    groups = number.split(".")[0].split(",")
    return len(groups) > 2 and all(len(g) == 2 for g in groups[1:-1])
