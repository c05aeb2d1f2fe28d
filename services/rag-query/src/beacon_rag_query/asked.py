"""What a question asks for: a line item, a derived metric or prose, for which periods.

`read_question` names the kind (line item, ratio, growth, CAGR, free cash flow, narrative),
the line item or ratio (`lineitems.py`), the scope asked (consolidated or standalone), and
the periods as `Asked` spans: the fiscal periods query understanding found ("FY2024",
"Q2FY25") and the spans the question dates itself ("the six months ended September 30,
2025", "as of 31 December 2022", "the March 2025 quarter", "fiscal year ended November
2022", "for 2022"), which match statement columns by end date and length, whatever the
company's fiscal calendar. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from beacon_rag_query.lineitems import BY_KEY, CAGR, FREE_CASH_FLOW, GROWTH, LINE_ITEMS, RATIOS, LineItem, Ratio
from beacon_rag_query.periods import FiscalPeriod, period_from_label, previous
from beacon_rag_query.statements import Column, date_in
from beacon_rag_query.text import content_terms

_NARRATIVE = re.compile(
    r"\b(why|explain\w*|describe\w*|discuss\w*|risks?|strateg\w*|outlook|guidance|plans?|priorit\w*|"
    r"highlights?|challenges?|initiatives?|policy|policies|approach|opinion|comment\w*|"
    r"summar\w*|overview|reasons?|drivers?|drove|driven|caused|contributed|impact|what does|"
    r"what did .* say|how does|how did)\b",
    re.IGNORECASE,
)
_FIGURE_WORDS = re.compile(r"\b(how much|how many|total|amount|value|figure)\b", re.IGNORECASE)
# A question that asks for a cause or an effect wants sentences even when it names a figure
# ("How did currency weakness affect total net sales?"), unless it asks how large it was.
_EXPLANATION = re.compile(
    r"\b(why|explain\w*|what\s+(?:drove|caused|led\s+to)|reasons?\s+for|"
    r"how\s+(?:did|does|do|has|have|will)\b.*\b(?:affect|impact|influence)\w*)",
    re.IGNORECASE,
)
_HOW_LARGE = re.compile(r"\b(how much|how many|by what|what percentage|what share)\b", re.IGNORECASE)
_ASKS_WHAT = re.compile(r"^\s*(what|which)\b", re.IGNORECASE)
_STANDALONE = re.compile(r"\bstand[\s-]?alone\b", re.IGNORECASE)
_CONSOLIDATED = re.compile(r"\bconsolidated\b", re.IGNORECASE)
_DILUTED = re.compile(r"\bdiluted\b", re.IGNORECASE)
_YEARS = re.compile(r"\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)[\s-]+years?\b", re.IGNORECASE)
_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10}
# Words of a question that say nothing about which row answers it.
_GENERIC = frozenset(content_terms(
    "what was were is are the how much many did does value amount figure total reported report "
    "company group consolidated standalone fy fiscal financial year quarter half period ended end "
    "as at of in for during give tell state show according months month six nine three twelve "
    "first second third fourth last full statement"
))
_MONTHS_OF = {"three": 3, "3": 3, "six": 6, "6": 6, "nine": 9, "9": 9, "twelve": 12, "12": 12}


@dataclass(frozen=True)
class Asked:
    """A period a question asks about, as statement columns can show it."""

    label: str  # how an answer names it: "FY2024", "Q2FY25", "the six months ended September 30, 2025"
    months: int | None  # None: a balance on a date ("as of September 30, 2024")
    end_year: int
    end_month: int | None  # None: any month of the year ("for 2022")
    fiscal: FiscalPeriod | None = None
    day: int | None = None
    to_date: int | None = None  # "the first nine months of fiscal 2024": the fiscal year it runs in

    @classmethod
    def of(cls, period: FiscalPeriod) -> Asked:
        return cls(period.label, {"FY": 12, "H": 6, "Q": 3}[period.kind], period.end.year,
                   period.end.month, period, period.end.day)

    def matches(self, column: Column | None) -> bool:
        if column is None or column.change:
            return False
        if column.fiscal is not None:
            if self.fiscal is not None:
                return column.fiscal == self.fiscal.label
            labelled = period_from_label(column.fiscal)
            return labelled is not None and self.matches(Column(text=column.text, months=column.months,
                                                                end=labelled.end))
        if column.end is None:
            return False
        if self.end_month is not None and self.day is None and column.month_known and _near_month_end(
                column.end, self.end_year, self.end_month):
            # "the June 2023 quarter": a 52/53-week year's quarter ends within a week of the
            # month's end (Apple's on July 1, 2023, NVIDIA's on October 29, 2023).
            return self.months is None or column.point or column.months in (self.months, None)
        if self.day is not None and self.end_month is not None and column.month_known and abs(
                (column.end - date(self.end_year, self.end_month, min(self.day, 28))).days) <= 10:
            # a year before "July 1, 2023" is Apple's "June 25, 2022": weeks, not months, apart
            return self.months is None or column.point or column.months in (self.months, None)
        if column.end.year != self.end_year:
            return False
        if self.end_month is not None and column.month_known and column.end.month != self.end_month:
            return False
        return self.months is None or column.point or column.months in (self.months, None)

    def year_ago(self) -> Asked:
        if self.fiscal is not None:
            p = self.fiscal
            return Asked.of(previous(p) if p.kind == "FY" else replace(p, fiscal_year=p.fiscal_year - 1))
        label = self.label.replace(str(self.end_year), str(self.end_year - 1))
        to_date = self.to_date - 1 if self.to_date else None
        return replace(self, label=label, end_year=self.end_year - 1, to_date=to_date)

    def years_before(self, years: int) -> Asked:
        if self.fiscal is not None:
            p = self.fiscal
            return Asked.of(replace(p, fiscal_year=p.fiscal_year - years))
        label = self.label.replace(str(self.end_year), str(self.end_year - years))
        return replace(self, label=label, end_year=self.end_year - years)

    @property
    def sort_key(self) -> tuple[int, int]:
        return self.end_year, self.end_month or 12


_DATED = re.compile(
    r"\b(?:(?P<n>three|six|nine|twelve|3|6|9|12)[\s-]*months?|(?P<q>quarter)|(?P<h>half[\s-]*year)|"
    r"(?P<y>(?:fiscal\s+|financial\s+)?year))\s+(?:period\s+)?(?:ended|ending|to|through)\s+(?:on\s+)?(?P<rest>.{4,30})",
    re.IGNORECASE,
)
_POINT = re.compile(r"\b(?:as\s+(?:of|at|on)|at|on|end\s+of)\s+(?P<rest>.{4,30})", re.IGNORECASE)
_MONTH_QUARTER = re.compile(
    r"\b(?:the\s+)?(?P<month>jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|dec\w*)"
    r"\s+(?P<year>(?:19|20)\d{2})\s+quarter\b",
    re.IGNORECASE,
)
_PART_OF_FISCAL = re.compile(
    r"\b(?P<which>first|second|third|fourth|last)\s+(?P<part>quarter|half)\s+of\s+(?:the\s+)?"
    r"(?:fiscal(?:\s+year)?|financial\s+year|fy)\s*'?(?P<year>(?:19|20)?\d{2})\b",
    re.IGNORECASE,
)
# "Q3 2023", "the third quarter of 2023", "3Q23": a quarter as the filer numbers it.
_QUARTER_OF_YEAR = re.compile(
    r"\b(?:Q(?P<q>[1-4])|(?P<qn>[1-4])Q|(?P<which>first|second|third|fourth)\s+quarter)\s*(?:of\s+)?"
    r"(?:(?:fiscal|fy)\s*)?['’]?(?P<year>(?:19|20)\d{2}|\d{2})\b",
    re.IGNORECASE,
)
# "the first nine months of fiscal 2024", "first half of 2024", "nine months of 2023".
_TO_DATE = re.compile(
    r"\b(?:first\s+)?(?:(?P<n>three|six|nine|3|6|9)\s+months|(?P<h>half))\s+(?:of|in)\s+(?:the\s+)?"
    r"(?:(?:fiscal|financial)(?:\s+year)?\s*|fy\s*)?['’]?(?P<year>(?:19|20)\d{2}|\d{2})\b",
    re.IGNORECASE,
)
_BARE_YEAR = re.compile(r"\b(?:in|for|of|during)\s+(?:the\s+year\s+|calendar\s+(?:year\s+)?)?(?P<year>(?:19|20)\d{2})\b(?!\s*[-–]\s*\d)",
                        re.IGNORECASE)
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": 4}
_MONTH_NUMBER = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


def asked_periods(question: str, periods: Sequence[FiscalPeriod]) -> list[Asked]:
    """The question's own dated spans first (they are exact), then the fiscal periods query
    understanding found that those spans do not already cover."""
    end_month = periods[0].end_month if periods else 3  # the company's calendar, set by understanding
    dated: list[Asked] = []
    for m in _DATED.finditer(question):
        when = date_in(m.group("rest"))
        if when is None:
            continue
        months = 3 if m.group("q") else 6 if m.group("h") else 12 if m.group("y") else _MONTHS_OF[m.group("n").lower()]
        kind = {3: "three months", 6: "six months", 9: "nine months", 12: "year"}[months]
        dated.append(Asked(f"the {kind} ended {_day(when)}", months, when.year, when.month, day=when.day))
    for m in _MONTH_QUARTER.finditer(question):
        month, year = _MONTH_NUMBER[m.group("month")[:3].lower()], int(m.group("year"))
        dated.append(Asked(f"the quarter ended {m.group('month').title()} {year}", 3, year, month))
    for m in _PART_OF_FISCAL.finditer(question):
        year = int(m.group("year"))
        year = 2000 + year if year < 100 else year
        kind = "Q" if m.group("part").lower() == "quarter" else "H"
        number = _ORDINAL[m.group("which").lower()]
        if kind == "H" and number > 2:
            number = 2
        dated.append(Asked.of(FiscalPeriod(year, kind, number, end_month)))
    for m in _QUARTER_OF_YEAR.finditer(question):
        number = int(m.group("q") or m.group("qn") or _ORDINAL[m.group("which").lower()])
        year = _full_year(m.group("year"))
        asked = Asked.of(FiscalPeriod(year, "Q", number, end_month))
        if not any(_same(asked, d) for d in dated):
            dated.append(asked)
    to_date = []
    for m in _TO_DATE.finditer(question):
        months = 6 if m.group("h") else _MONTHS_OF[m.group("n").lower()]
        year = _full_year(m.group("year"))
        kind = {3: "three months", 6: "six months", 9: "nine months"}[months]
        to_date.append(Asked(f"the first {kind} of fiscal {year}", months, year, None, to_date=year))
    if to_date and not dated:
        dated = to_date
    if not dated:
        for m in _POINT.finditer(question):
            when = date_in(m.group("rest"))
            if when is not None and (when.day != 1 or re.search(r"\d", m.group("rest")[:3])):
                dated.append(Asked(f"{_day(when)}", None, when.year, when.month, day=when.day))
                break
    fiscal = [Asked.of(p) for p in periods]
    if any(d.to_date for d in dated):  # "first nine months of fiscal 2024" is not FY2024
        fiscal = [f for f in fiscal if not (f.fiscal and f.fiscal.kind == "FY"
                                            and any(f.fiscal.fiscal_year == d.to_date for d in dated))]
    # A dated span a fiscal period also names keeps the fiscal label ("Q2FY25").
    out = [next((f for f in fiscal if _same(f, d) and f.months == d.months), d) for d in dated]
    out += [f for f in fiscal if not any(_same(f, d) for d in dated)]
    if not out:
        for m in _BARE_YEAR.finditer(question):
            year = int(m.group("year"))
            out.append(Asked(str(year), 12, year, None))
    return out


def _near_month_end(when: date, year: int, month: int) -> bool:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return abs((when - following).days + 1) <= 7


def _full_year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _same(a: Asked, b: Asked) -> bool:
    return (a.end_year, a.end_month) == (b.end_year, b.end_month) or (
        b.fiscal is not None and a.fiscal is not None and a.fiscal == b.fiscal)


def _day(when: date) -> str:
    return f"{when.strftime('%B')} {when.day}, {when.year}"


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
    periods: tuple[Asked, ...] = ()
    years: int | None = None  # "5-year CAGR"
    diluted: bool = False
    entity: frozenset[str] = frozenset()  # the company-name words the question used, not the item's
    average: bool = False  # "return on average equity": a balance as the mean of its opening and closing
    decimals: int | None = None  # "round your answer to two decimal places"
    calendars: tuple[tuple[str, int], ...] = ()  # each company's fiscal-year end month

    def periods_of(self, company: str | None) -> tuple[Asked, ...]:
        """The asked periods on the company's own fiscal calendar ("FY2023" of a June filer
        ends in June 2023, of a December filer in December), for a comparison across them."""
        month = dict(self.calendars).get(company or "")
        if month is None:
            return self.periods
        return tuple(Asked.of(replace(p.fiscal, end_month=month))
                     if p.fiscal is not None and p.fiscal.end_month != month else p for p in self.periods)

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
    calendars: Sequence[tuple[str, int]] = (),
) -> FigureQuestion:
    """What figure a question asks for, if any. `periods`: what query understanding found;
    `entity_words`: company names and tickers, which are not part of a line item's name."""
    scope = "standalone" if _STANDALONE.search(question) else (
        "consolidated" if _CONSOLIDATED.search(question) else None)
    ignore = set(_GENERIC)
    names: set[str] = set()
    for word in entity_words:
        names |= content_terms(word)
    ignore |= names
    asked_terms = content_terms(question)
    terms = frozenset(t for t in asked_terms if t not in ignore and not _MONTH_WORD.match(t))
    common = dict(terms=terms, scope=scope, companies=tuple(companies),
                  periods=tuple(asked_periods(question, periods)), years=_years(question),
                  diluted=bool(_DILUTED.search(question)), average=bool(_AVERAGE.search(question)),
                  decimals=_decimals(question), entity=frozenset(names & asked_terms),
                  calendars=tuple(calendars))
    narrative = bool(_NARRATIVE.search(question)) and not _FIGURE_WORDS.search(question) or (
        bool(_EXPLANATION.search(question)) and not _HOW_LARGE.search(question))
    ratio = next((r for r in RATIOS if r.asked.search(question)), None) or _share_of(question)
    if ratio is not None and ratio.kind == "percent" and _AMOUNT.search(question) and not narrative:
        # "gross margin in dollars": US statements print the amount under the ratio's name.
        item = BY_KEY[ratio.numerator]
        return FigureQuestion("line_item", item=item, named=_named(ratio.asked, question), **common)
    if ratio is not None and not narrative:
        return FigureQuestion("ratio", ratio=ratio, named=_named(ratio.asked, question), **common)
    if FREE_CASH_FLOW.search(question) and not narrative:
        return FigureQuestion("free_cash_flow", item=BY_KEY["free_cash_flow"],
                              named=_named(FREE_CASH_FLOW, question), **common)
    item = _asked_item(question)
    if item is not None:
        common["named"] = _named(item.asked, question)
    if CAGR.search(question):
        return FigureQuestion("cagr", item=item, **common)
    if GROWTH.search(question) and (item is not None or terms) and not narrative:
        return FigureQuestion("growth", item=item, **common)
    if item is not None and not narrative:
        return FigureQuestion("line_item", item=item, **common)
    if terms and (_FIGURE_WORDS.search(question) or _ASKS_WHAT.search(question)) and not narrative:
        return FigureQuestion("line_item", **common)  # a row named by the question's own words
    return FigureQuestion("narrative", **common)


# "share of revenue", "as a percentage of total assets", "as a % of sales": the denominator follows.
_SHARE_OF = re.compile(
    r"\b(?:share|percentage|per\s*cent|proportion|%|fraction)\s+of\s+(?:\w+['’]s?\s+)?(?:its\s+|the\s+)?",
    re.IGNORECASE,
)


def _share_of(question: str) -> Ratio | None:
    """"What share of revenue did R&D represent", "cash as a percentage of total assets": one
    line item over another, when the question names both."""
    m = _SHARE_OF.search(question)
    if m is None:
        return None
    after = question[m.end():]
    first = _first_item(after)
    if first is None:
        return None
    item, mention = first
    rest = question[:m.start()] + " " + after[:mention[0]] + " " + after[mention[1]:]
    part = _asked_item(rest)
    if part is None or part.key == item.key:
        return None
    whole = "revenue" if item.key == "revenue" else item.name  # not "revenue from operations" of a US filing
    return Ratio(f"{part.key}_share_of_{item.key}", f"{part.name} as a share of {whole}", _SHARE_OF,
                 part.key, item.key, "percent")


def _first_item(text: str) -> tuple[LineItem, tuple[int, int]] | None:
    """The line item mentioned first in `text` (the longest mention where two start together)."""
    best: tuple[int, int, LineItem, tuple[int, int]] | None = None
    for item in LINE_ITEMS:
        for m in item.asked.finditer(text):
            key = (m.start(), -(m.end() - m.start()))
            if best is None or key < best[:2]:
                best = (*key, item, (m.start(), m.end()))
    return (best[2], best[3]) if best else None


_AVERAGE = re.compile(r"\baverage\b|\bmean\b", re.IGNORECASE)
_DECIMALS = re.compile(r"\b(?:round\w*|to)\s+(?:\w+\s+){0,3}?(?P<n>\d|one|two|three|four)\s+decimal", re.IGNORECASE)


def _decimals(question: str) -> int | None:
    m = _DECIMALS.search(question)
    if m is None:
        return None
    word = m.group("n").lower()
    return int(word) if word.isdigit() else {"one": 1, "two": 2, "three": 3, "four": 4}[word]


_AMOUNT = re.compile(r"\bin\s+(?:us\s+)?(?:dollars|rupees|\$|₹|crores?|millions?|billions?)\b|"
                     r"\b(?:dollar|rupee)\s+amount\b", re.IGNORECASE)
_MONTH_WORD = re.compile(r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*$")


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
