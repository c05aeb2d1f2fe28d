"""Financial statements as the PDF extractor leaves them: rows, columns, periods, units.

A statement page reaches rag-query as text in one of two shapes:

- rows the ingestion parser recognised as a table, one per line, each cell labelled with
  its column header: ``Revenues | March 31, 2026: 5,040 | March 31, 2025: 4,730``;
- a flattened stream, where a label is followed by one number per column and the column
  headers sit somewhere above: ``Particulars Year ended March 31, 2026 Year ended March 31,
  2025 Revenues 20,158 19,277 Cost of sales 14,079 13,405 ...``, sometimes with a notes
  column (``Revenue from operations 24 9,74,864 8,77,835``) or the item numbers of SEBI
  result formats (``1 Revenue from operations ... 2 Other income ...``).

`read_rows` turns either into `Row`s (a label and its cells) whose `Column`s say which
period each cell is, as the headers on the page say it; it also reads the unit the
statement is presented in ("₹ in crore") and whether it is consolidated or standalone.
When a passage carries rows but not their headers (a chunk cut below them), the columns are
read by position from the filing's own period, the way Indian filings order them. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from beacon_rag_query.periods import FiscalPeriod, period_from_label, previous

# ---- values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """How a statement's figures are presented: currency and scale ("₹ in crore")."""

    currency: str | None  # "₹" or "$"
    scale: str | None  # "crore", "lakh", "million", "billion", "thousand"

    def render(self, number: str) -> str:
        """A figure in the filing's own units: `₹9,74,864 crore`, `$20,158 million`."""
        negative = number.startswith("(") and number.endswith(")")
        digits = number.strip("()") if negative else number
        text = f"{self.currency or ''}{digits}{' ' + self.scale if self.scale else ''}"
        return f"-{text}" if negative else text

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.currency, self.scale) if p)


@dataclass(frozen=True)
class Column:
    """What one column of a statement holds: a period (`months` long, ending on `end`), a
    balance on a date (`point`), or a fiscal period named by label (`fiscal`)."""

    text: str
    months: int | None = None
    end: date | None = None
    fiscal: str | None = None  # canonical label: FY2024, Q3FY25, H1FY24
    point: bool = False
    assumed: bool = False  # read by position from the filing's period, not from a header
    change: bool = False  # not a period: the change between two ("Change %", "YoY growth")
    month_known: bool = True  # False: only the year is printed ("2023: 9,879"), `end` is its last day

    def describe(self) -> str:
        if self.fiscal and not self.end:
            return self.fiscal
        if self.end is None:
            return self.text
        if not self.month_known:
            length = {3: "three months", 6: "six months", 9: "nine months", 12: "twelve months"}.get(self.months or 0)
            return f"{length} of {self.end.year}" if length else str(self.end.year)
        day = f"{_MONTH_NAMES[self.end.month - 1]} {self.end.day}, {self.end.year}"
        if self.point:
            return f"as at {day}"
        length = {3: "quarter", 6: "half year", 9: "nine months", 12: "year"}.get(self.months or 0)
        return f"{length} ended {day}" if length else f"period ended {day}"


@dataclass(frozen=True)
class Cell:
    text: str  # as written: "9,74,864", "(1,234)", "-"
    value: float | None  # None for a nil cell ("-", "—")


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    columns: tuple[Column | None, ...]  # one per cell
    unit: Unit | None = None
    scope: str | None = None  # "consolidated" or "standalone"
    statement: str | None = None  # "statement of profit and loss", "balance sheet", ...
    per_share: bool = False
    percent: bool = False

    def render(self, cell: Cell) -> str:
        if self.percent:
            return f"{cell.text.rstrip('%')}%"
        if self.per_share:
            own = _LABEL_CURRENCY.search(self.label)
            currency = ("$" if own.group(1) == "$" else "₹") if own else (self.unit.currency if self.unit else None)
            return Unit(currency, None).render(cell.text)
        return self.unit.render(cell.text) if self.unit else cell.text


# ---- patterns ---------------------------------------------------------------------------

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_MONTHS = {m[:3].lower(): i for i, m in enumerate(_MONTH_NAMES, start=1)}
_MON = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
        r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DATE = re.compile(
    rf"(?P<md>{_MON})\.?\s+(?P<md_day>\d{{1,2}})(?:st|nd|rd|th)?,?\s*(?P<md_year>(?:19|20)\d{{2}})"
    rf"|(?P<dm_day>\d{{1,2}})(?:st|nd|rd|th)?[\s-]+(?:of\s+)?(?P<dm>{_MON})\.?,?[\s-]*"
    r"(?P<dm_year>(?:19|20)\d{2}|'?\d{2}\b)"
    r"|(?<![\d.,])(?P<n_day>[0-3]?\d)[./-](?P<n_month>[01]?\d)[./-](?P<n_year>(?:19|20)\d{2}|\d{2})(?![\d.,])"
    rf"|(?<![\w-])(?P<my>{_MON})(?:\s*['’-]\s*(?P<my_short>\d{{2}})|\s+(?P<my_year>(?:19|20)\d{{2}}))\b",
    re.IGNORECASE,
)
# Column headers printed on two lines: the months and days, then the years under them
# ("September 30, June 30, March 31," / "2024 2024 2024").
_DAY_MONTH = rf"(?:{_MON}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MON}\.?),?"
_SPLIT_DATES = re.compile(
    rf"(?P<days>(?:{_DAY_MONTH}\s+){{2,}})(?P<years>(?:(?:19|20)\d{{2}}\b\s*){{2,}})", re.IGNORECASE)
_ONE_DAY = re.compile(_DAY_MONTH, re.IGNORECASE)
_FISCAL = re.compile(
    r"(?<![\w-])(?:(?P<part>[QH])\s?(?P<num>[1-4])\s?(?:FY|F\.Y\.)?\s?'?(?P<pyear>\d{2,4})"
    r"|(?:FY|F\.Y\.)\s?'?(?P<year>\d{2,4})(?:\s?-\s?(?P<year_to>\d{2,4}))?"
    r"|(?P<range_from>(?:19|20)\d{2})\s?-\s?(?P<range_to>\d{2}|(?:19|20)\d{2}))(?![\w-])",
    re.IGNORECASE,
)
_KIND = re.compile(
    r"(?P<q>(?:three|3)\s*months?\s*(?:period\s*)?ended|quarter\s*ended)"
    r"|(?P<h>(?:six|6)\s*months?\s*(?:period\s*)?ended|half[\s-]*year\s*ended)"
    r"|(?P<n>(?:nine|9)\s*months?\s*(?:period\s*)?ended)"
    r"|(?P<y>(?:twelve|12)\s*months?\s*ended|(?:financial\s+|fiscal\s+)?year\s*ended)"
    r"|(?P<p>\bas\s+(?:at|on|of)\b)"
    r"|(?P<t>\byear[\s-]to[\s-]date\b)",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.,/])(?P<num>\(?-?(?:\d{1,3}(?:,\d{2,3})+|\d+)(?:\.\d+)?\)?%?)(?![\w/]|[.,]\d)"
    r"|(?<!\S)(?P<nil>[-–—]|nil)(?!\S)",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"(?P<cur>₹|`|\brs\.?|\binr\b|us\$|\$|\busd\b|\bdollars?\b|\brupees?\b)\s*(?:in\s+)?"
    r"(?P<scale>crores?|cr\b|lakhs?|lacs?|millions?|mn\b|billions?|bn\b|thousands?|'000)"
    r"|\bin\s+(?P<cur2>₹|`|rs\.?|inr|us\$|\$|usd|dollars?|rupees?)?\s*(?P<scale2>crores?|lakhs?|lacs?|millions?|billions?|thousands?)\b"
    r"|\(\s*(?P<scale3>crores?|lakhs?|lacs?|millions?|billions?)\s*\)"  # "( crore)": a rupee glyph lost
    # A column's unit as IFRS reports print it: "€000", "£'000", "$'000", "€m", "US$m".
    r"|(?<![\w$€£])(?P<cur4>(?:US|A|C)?[$€£])\s?(?P<scale4>['’]?000|m|bn)(?![\w'’])",
    re.IGNORECASE,
)
_SCALES = {"crore": "crore", "crores": "crore", "cr": "crore", "lakh": "lakh", "lakhs": "lakh",
           "lac": "lakh", "lacs": "lakh", "million": "million", "millions": "million",
           "mn": "million", "billion": "billion", "billions": "billion", "bn": "billion",
           "thousand": "thousand", "thousands": "thousand", "000": "thousand",
           "m": "million"}
# "(₹ in crore)" whose rupee glyph the PDF font lost: "Crore" opening a passage (a results
# page's unit line) or "[` Crore]" after a label. Crore and lakh are rupee scales.
_GLYPHLESS_SCALE = re.compile(r"(?:\A|\[\s*`?\s*)(crores?|lakhs?)\b(?=\s*\]|\s+[A-Z(\[]|\s*\Z)", re.IGNORECASE)
_EXCEPTION = re.compile(r"\bexcept\b[^()\n]*$", re.IGNORECASE)
_SCOPE = re.compile(r"\b(consolidated|standalone|stand-alone|stand alone)\b", re.IGNORECASE)
# A UK or IFRS parent's own statements, printed after the group's: "Company Statement of
# Financial Position", "PARENT COMPANY BALANCE SHEET". Capitalised, at a line start: a title.
_PARENT_STATEMENT = re.compile(
    r"(?m)^(?:(?:PARENT )?COMPANY (?:STATEMENTS? OF|BALANCE SHEET)|(?:Parent )?Company (?:Statements? of|Balance Sheet))")
# A financial statement's title, as US, IFRS and Ind AS filings word it.
STATEMENT_TITLE = re.compile(
    r"statements?\s+of\s+(?:(?:consolidated|condensed|standalone)\s+)*(?:profit\s+(?:and|or|&)\s+loss|"
    r"(?:comprehensive\s+)?income|operations|earnings|financial\s+position|cash\s+flows?|"
    r"comprehensive|changes\s+in\s+equity)|"
    r"(?:income|cash\s+flows?)\s+statements?|balance\s+sheets?|financial\s+results",
    re.IGNORECASE,
)
_HEADER_WORDS = frozenset("particulars note notes no no. sr sr. audited unaudited reviewed".split())
_ITEM_MARK = re.compile(r"^(?:\(?[ivx]{1,4}\)|\(?[a-h]\)|[A-H]\.|[IVX]{1,4}\.?|\d{1,2}\.?|\(\d{1,2}\))\s+")
_CHANGE = re.compile(r"\b(change|growth|yoy|y-o-y|var(iance)?|increase)\b|%", re.IGNORECASE)
_LABEL_CURRENCY = re.compile(r"\((\$|₹|rs\.?|inr)\)", re.IGNORECASE)
_PER_SHARE = re.compile(r"per\s*(?:equity\s*)?share|\beps\b", re.IGNORECASE)
_PERCENT_LABEL = re.compile(r"\(%\)|\bin\s+%|margin|\bratio\b|per\s*cent", re.IGNORECASE)


def parse_number(text: str) -> float | None:
    """`9,74,864` 974864; `(1,234)` -1234; `-` None."""
    raw = text.strip()
    if raw.lower() in ("-", "–", "—", "nil"):
        return None
    negative = raw.startswith("(") and raw.endswith(")") or raw.startswith("-")
    digits = raw.strip("()%-")
    try:
        value = float(digits.replace(",", ""))
    except ValueError:
        return None
    return -value if negative else value


# ---- columns from headers ---------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """A period token of a header, in reading order."""

    at: int
    kind: str  # "label" (a kind: q/h/n/y/p), "date", "fiscal"
    value: object
    text: str


def _year(text: str) -> int:
    text = text.lstrip("'")
    return 2000 + int(text) if len(text) == 2 else int(text)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _date(m: re.Match) -> date | None:
    try:
        if m.group("md"):
            return date(int(m.group("md_year")), _MONTHS[m.group("md")[:3].lower()], int(m.group("md_day")))
        if m.group("dm"):
            return date(_year(m.group("dm_year")), _MONTHS[m.group("dm")[:3].lower()], int(m.group("dm_day")))
        if m.group("n_day"):
            return date(_year(m.group("n_year")), int(m.group("n_month")), int(m.group("n_day")))
        if m.group("my"):
            year = m.group("my_year") or m.group("my_short")
            return _month_end(_year(year), _MONTHS[m.group("my")[:3].lower()])
    except (ValueError, KeyError):
        return None
    return None


def _fiscal(m: re.Match) -> str | None:
    if m.group("part"):
        year = _year(m.group("pyear"))
        return f"{m.group('part').upper()}{m.group('num')}FY{year % 100:02d}" if 1990 <= year <= 2100 else None
    if m.group("year"):
        start = _year(m.group("year"))
        end = m.group("year_to")
        year = start
        if end:
            year = (start // 100) * 100 + int(end) if len(end) == 2 else int(end)
            if year != start + 1:
                return None
        return f"FY{year}" if 1990 <= year <= 2100 else None
    start, to = int(m.group("range_from")), m.group("range_to")
    year = (start // 100) * 100 + int(to) if len(to) == 2 else int(to)
    return f"FY{year}" if year == start + 1 else None


def _day_month(text: str) -> tuple[int, int] | None:
    """(month, day) of "July 1," or "30 September"."""
    month = re.search(_MON, text, re.IGNORECASE)
    day = re.search(r"\d{1,2}", text)
    if month is None or day is None:
        return None
    number = _MONTHS[month.group(0)[:3].lower()]
    return (number, int(day.group(0))) if 1 <= int(day.group(0)) <= 31 else None


def date_in(text: str) -> date | None:
    """The first date written in `text` ("September 30, 2025", "31 December 2022",
    "November 2022"), or None."""
    for mark in period_marks(text):
        if mark.kind == "date":
            return mark.value  # type: ignore[return-value]
    return None


def period_marks(text: str, offset: int = 0) -> list[_Mark]:
    """Kinds ("Year ended", "As at"), dates and fiscal labels in `text`, in order."""
    marks: list[_Mark] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for m in _SPLIT_DATES.finditer(text):
        days = list(_ONE_DAY.finditer(m.group("days")))
        years = re.findall(r"\d{4}", m.group("years"))
        if len(days) != len(years):
            continue
        for day, year in zip(days, years, strict=True):
            found = _DATE.fullmatch(f"{day.group(0).rstrip(',')}, {year}") or _DATE.fullmatch(
                f"{day.group(0).rstrip(',')} {year}")
            when = _date(found) if found else None
            if when is not None:
                marks.append(_Mark(offset + m.start() + day.start(), "date", when, f"{day.group(0)} {year}"))
        taken.append(m.span())
    for m in _DATE.finditer(text):
        if not free(*m.span()):
            continue
        day = _date(m)
        if day is not None and 1990 <= day.year <= 2100:
            marks.append(_Mark(offset + m.start(), "date", day, m.group(0)))
            taken.append(m.span())
    for m in _FISCAL.finditer(text):
        label = _fiscal(m)
        if label is not None and free(*m.span()):
            marks.append(_Mark(offset + m.start(), "fiscal", label, m.group(0)))
            taken.append(m.span())
    for m in _ONE_DAY.finditer(text):
        # A column header's month and day without its year ("July 1, June 25,"): US
        # statements print the years on a line of their own, or only in the cells.
        if (free(*m.span()) and not re.match(r"\s*\d", text[m.end():m.end() + 3])
                and not (m.start() and text[m.start() - 1].isalnum())):
            day = _day_month(m.group(0))
            if day is not None:
                marks.append(_Mark(offset + m.start(), "daymonth", day, m.group(0)))
                taken.append(m.span())
    for m in _KIND.finditer(text):
        if free(*m.span()):
            kind = next(k for k in "qhnypt" if m.group(k))
            marks.append(_Mark(offset + m.start(), "label", kind, m.group(0)))
            taken.append(m.span())
    return sorted(marks, key=lambda k: k.at)


_KIND_MONTHS = {"q": 3, "h": 6, "n": 9, "y": 12, "p": None, "t": None}


def columns_from_marks(marks: Sequence[_Mark]) -> list[Column]:
    """Columns from a header's period tokens.

    Dates carry the columns; kinds say how long each period is. As many kinds as dates pair
    up in order ("3 months ended March 31, 2026 ... Year ended March 31, 2025", or a kind
    repeated over each column); fewer kinds are group headings ("Quarter ended | Year ended"
    over 31.03.2024 31.12.2023 31.03.2023 | 31.03.2024 31.03.2023): a group starts where a
    date is later than the one before it, since each group lists the current period first.
    Fiscal labels (FY2024, Q4FY24, 2023-24) are columns of their own when there are no dates.
    """
    dates = [m for m in marks if m.kind == "date"]
    kinds = [m for m in marks if m.kind == "label"]
    if not dates:
        fiscal = [m for m in marks if m.kind == "fiscal"]
        return [Column(text=m.text, fiscal=str(m.value), months=_fiscal_months(str(m.value)))
                for m in fiscal]
    assigned: list[str | None] = [None] * len(dates)
    if len(kinds) == len(dates):
        assigned = [str(k.value) for k in kinds]
    elif kinds:
        groups = _groups(dates)
        if len(kinds) == 1 and max(groups) == 0:
            assigned = [str(kinds[0].value)] * len(dates)
        elif max(groups) + 1 == len(kinds):
            assigned = [str(kinds[g].value) for g in groups]
    columns = []
    for mark, kind in zip(dates, assigned, strict=True):
        label = next((k.text for k in kinds if kind and k.value == kind), "")
        columns.append(Column(
            text=f"{label} {mark.text}".strip(), end=mark.value, months=_KIND_MONTHS.get(kind or ""),
            point=kind == "p",
        ))
    return columns


def fit_columns(marks: Sequence[_Mark], count: int) -> list[Column] | None:
    """The columns of a header for a row of `count` values: its last `count` dates with the
    kinds written after any earlier date (a title's "for the year ended 31st March, 2024"
    often precedes the column headers in the same stream), or its last `count` fiscal
    labels. None when the header has fewer."""
    dates = [i for i, m in enumerate(marks) if m.kind == "date"]
    if dates:
        if len(dates) < count:
            return None
        first = dates[len(dates) - count]
        earlier = dates[len(dates) - count - 1] if len(dates) > count else -1
        kinds = [m for m in marks[earlier + 1:first] if m.kind == "label"]
        kinds += [m for m in marks[first:] if m.kind == "label"]
        return columns_from_marks([*kinds, *(marks[i] for i in dates[len(dates) - count:])])
    fiscal = [m for m in marks if m.kind == "fiscal"]
    if len(fiscal) < count:
        return None
    return columns_from_marks(fiscal[len(fiscal) - count:])


def grid_columns(
    marks: Sequence[_Mark],
    count: int,
    *,
    years: Sequence[int] | None = None,
    filing_period: str | None = None,
    known: dict[tuple[int, int], set[int]] | None = None,
) -> list[Column] | None:
    """Columns of the US layout: duration groups side by side ("Three Months Ended | Nine
    Months Ended"), each with the current period first and the year-ago one after it, the
    months and days in one header line ("July 1, June 25, July 1, June 25,") and the years on
    another, in the cells' own headers ("2023: 18,120"), or nowhere on the page. A missing
    year is the one the document writes with that month and day ("July 1, 2023" in its
    notes), else the filing's fiscal year for the first column of a group and a year less
    for each column after it. None when the header says no month and day."""
    kinds = [m for m in marks if m.kind == "label"]
    days = [m.value for m in marks if m.kind == "daymonth"]
    if not days:
        days = [(m.value.month, m.value.day) for m in marks if m.kind == "date"]  # type: ignore[union-attr]
    bare = [int(m.value) for m in marks if m.kind == "year"]  # type: ignore[call-overload]
    if count < 1:
        return None
    if not days:
        return _year_columns(years, filing_period) if years is not None and len(years) == count else None
    groups: list[_Mark] = []
    for size in range(len(kinds), 0, -1):
        if count % size == 0 and count // size >= 1:
            groups = kinds[len(kinds) - size:]
            break
    if years is not None and len(years) == count:
        repeat = next((i for i in range(1, count) if years[i] == years[0]), count)
        if repeat >= 2 and count % repeat == 0 and len(groups) < count // repeat:
            # The cells' years repeat once per group, and the header found names fewer
            # groups (the other heading sits in a chunk not retrieved): the filing's order.
            by_year = _year_columns(years, filing_period)
            if by_year is None or len(set(days)) != 1:
                return by_year
            month, day = days[0]
            try:
                return [replace(c, text=f"{_MONTH_NAMES[month - 1]} {day}, {c.end.year}",
                                end=date(c.end.year, month, day), month_known=True)
                        for c in by_year if c.end is not None]
            except ValueError:
                return by_year
    per = count // len(groups) if groups else count
    if len(days) >= count:
        column_days = list(days[len(days) - count:])
    elif groups and len(days) >= len(groups):
        tail = days[len(days) - len(groups):]
        column_days = [tail[i // per] for i in range(count)]
    else:
        column_days = [days[-1]] * count
    if years is not None and len(years) == count:
        column_years = list(years)
    elif len(bare) >= count:
        column_years = bare[len(bare) - count:]
    elif len(bare) >= per:
        column_years = [bare[len(bare) - per + i % per] for i in range(count)]
    else:
        filed = period_from_label(filing_period) if filing_period else None
        column_years = []
        newest: int | None = None  # the year of the group's first column, when the document says it
        for i, (month, day) in enumerate(column_days):
            seen = (known or {}).get((month, day), set())
            if i % per == 0:
                newest = next(iter(seen)) if len(seen) == 1 else None
            if len(seen) == 1:
                column_years.append(next(iter(seen)))
            elif newest is not None and newest - i % per in seen:
                # "October 29, October 30,": the document writes October 30 with 2022 and
                # 2023; a group's columns run newest first, a year apart
                column_years.append(newest - i % per)
            elif filed is not None:
                column_years.append(_year_ending(filed, month) - i % per)
            else:
                return None
    filed = period_from_label(filing_period) if filing_period else None
    to_date = None
    if filed is not None and filed.kind in ("Q", "H"):
        to_date = filed.number * (3 if filed.kind == "Q" else 6)
    columns = []
    for i, ((month, day), year) in enumerate(zip(column_days, column_years, strict=True)):
        kind = groups[i // per] if groups else None
        try:
            end = date(year, month, day)
        except ValueError:
            return None
        months = _KIND_MONTHS.get(str(kind.value)) if kind else None
        if kind is not None and kind.value == "t":
            months = to_date
        label = f"{kind.text} " if kind is not None else ""
        columns.append(Column(text=f"{label}{_MONTH_NAMES[month - 1]} {day}, {year}", end=end,
                              months=months, point=kind is not None and kind.value == "p"))
    return columns


def _year_ending(filed: FiscalPeriod, month: int) -> int:
    """The calendar year in which the filed period ends, when it ends in `month`: its label
    alone does not say (Q1FY25 of an Indian filer ends in June 2024, Q3FY24 of a January filer
    in October 2023, of a December filer in September 2024); the calendar on which that
    quarter (half, year) ends in `month` does."""
    steps = {"FY": 0, "H": 6 * (2 - filed.number), "Q": 3 * (4 - filed.number)}[filed.kind]
    year_end = (month - 1 + steps) % 12 + 1
    return filed.fiscal_year if month <= year_end else filed.fiscal_year - 1


def _year_columns(years: Sequence[int], filing_period: str | None) -> list[Column] | None:
    """Cells headed by their years alone, the rest of the header cut away with another chunk
    ("Net income | 2022: 2,872 | 2023: 9,879 | 2022: (3,000) | 2023: 19,801"): the years
    repeat once per duration group, and a quarter's filing prints its groups in the usual
    order: the quarter, the year to date, then (some) the trailing twelve months."""
    per = next((i for i in range(1, len(years)) if years[i] == years[0]), len(years))
    if per < 2 or len(years) % per:
        return None  # one column per group: a balance sheet or a layout not read this way
    filed = period_from_label(filing_period) if filing_period else None
    if filed is None or filed.kind not in ("Q", "FY"):
        return None
    lengths = [12] if filed.kind == "FY" else [3, *([3 * filed.number] if filed.number > 1 else []), 12]
    columns = []
    for i, year in enumerate(years):
        group = i // per
        months = lengths[group] if group < len(lengths) else None
        columns.append(Column(text=str(year), end=date(year, 12, 31), months=months, month_known=False))
    return columns


def _complete(columns: list[Column], filing_period: str | None) -> list[Column]:
    """Dates whose lengths the header did not say ("Year ended" over six columns, the other
    kinds printed elsewhere) take them from the filing's usual layout, when its column ends
    are exactly these dates."""
    if all(c.months is not None or c.point or c.end is None for c in columns):
        return columns
    assumed = assumed_columns(filing_period, len(columns))
    if assumed is None:
        return columns
    for column, guess in zip(columns, assumed, strict=True):
        end = guess.end or (period_from_label(guess.fiscal).end if guess.fiscal else None)
        if column.end is None or end is None or (column.end.year, column.end.month) != (end.year, end.month):
            return columns
    return [c if c.months is not None else replace(c, months=g.months) for c, g in zip(columns, assumed, strict=True)]


def _groups(dates: Sequence[_Mark]) -> list[int]:
    group, out, last = 0, [], None
    for mark in dates:
        if last is not None and mark.value > last:
            group += 1
        out.append(group)
        last = mark.value
    return out


def _fiscal_months(label: str) -> int:
    return 12 if label.startswith("FY") else 6 if label.startswith("H") else 3


def assumed_columns(filing_period: str | None, count: int) -> list[Column] | None:
    """Columns read by position when a passage has rows but not their headers, in the order
    Indian filings print them: an annual report's current year then the previous one; a
    quarter's results the quarter, the previous quarter, the same quarter a year ago, then the
    year (Q4), half (Q2) or nine months (Q3) to date and the same a year ago, then the last
    full year. None when the filing's period or the count does not say."""
    period = period_from_label(filing_period) if filing_period else None
    if period is None or count < 1:
        return None

    def fiscal(p: FiscalPeriod) -> Column:
        return Column(text=p.label, fiscal=p.label, months=_fiscal_months(p.label), assumed=True)

    def to_date(p: FiscalPeriod, months: int) -> Column:
        return Column(text=f"{months} months to {p.label}", end=p.end, months=months, assumed=True)

    if period.kind == "FY":
        out, current = [], period
        for _ in range(count):
            out.append(fiscal(current))
            current = previous(current)
        return out
    if period.kind != "Q":
        return None
    q, year = period.number, period.fiscal_year
    last_year = FiscalPeriod(year - 1, "Q", q)
    quarters = [fiscal(period), fiscal(previous(period)), fiscal(last_year)]
    if count == 3:
        return quarters
    full_year, previous_year = FiscalPeriod(year, "FY"), FiscalPeriod(year - 1, "FY")
    if q == 4 and count == 5:
        return [*quarters, fiscal(full_year), fiscal(previous_year)]
    if q == 1 and count == 4:
        return [*quarters, fiscal(previous_year)]
    if q in (2, 3) and count == 6:
        months = 6 if q == 2 else 9
        return [*quarters, to_date(period, months), to_date(last_year, months), fiscal(previous_year)]
    return None


# ---- rows -------------------------------------------------------------------------------


@dataclass
class _Context:
    """What the page says above a row: its headers, unit, scope and statement title."""

    headers: list[tuple[int, tuple[list[_Mark], bool]]] = field(default_factory=list)  # marks, notes column
    units: list[tuple[int, Unit]] = field(default_factory=list)
    scopes: list[tuple[int, str]] = field(default_factory=list)
    statements: list[tuple[int, str]] = field(default_factory=list)
    words: list[_Mark] = field(default_factory=list)  # period marks outside table rows
    known: dict[tuple[int, int], set[int]] = field(default_factory=dict)  # (month, day) -> years
    page_header: list[_Mark] = field(default_factory=list)  # headers held by another passage
    body_start: int = 0  # where the passage's own text begins, after a statement title line

    @staticmethod
    def latest(items: list[tuple[int, object]], at: int, *, or_next: bool = False):
        """The last value declared at or before `at` (positions in the passage); with
        `or_next`, the first after it when none precedes (some filings print a statement's
        title and unit below its table)."""
        found = None
        for position, value in items:
            if position <= at:
                found = value
        if found is None and or_next:
            after = [(p, v) for p, v in items if p > at]
            found = min(after, key=lambda pv: pv[0])[1] if after else None
        return found


def declared(text: str) -> tuple[Unit | None, str | None]:
    """The first unit and the first scope a passage declares, rows or not."""
    context = _Context()
    _scan_context(text, 0, context)
    unit = context.units[0][1] if context.units else None
    scope = context.scopes[0][1] if context.scopes else None
    return unit, scope


def read_rows(
    text: str,
    *,
    section: str | None = None,
    title: str = "",
    filing_period: str | None = None,
    known_dates: dict[tuple[int, int], set[int]] | None = None,
    page_header: Sequence[_Mark] = (),
) -> list[Row]:
    """Every row of figures in a passage, with the period of each cell where the page says it.
    `known_dates`: the years the document writes with each month and day, for headers that
    print a column's month and day without its year; `page_header`: the column headers of
    the page when another passage holds them."""
    context = _Context()
    preamble = " ".join(p for p in (title, section or "") if p)
    _scan_context(preamble, -len(preamble) - 1, context)
    context.words.clear()  # the title's and section's periods are not a header of the text
    rows: list[Row] = []
    flat_parts: list[tuple[int, str]] = []
    labelled: list[tuple[int, str]] = []
    position = 0
    lines = text.split("\n")
    if section and len(lines) > 1 and lines[0].strip() == section.strip():
        # The statement's title, which ingestion puts at the head of every chunk of its page:
        # context, not a row, and the passage's own text begins after it.
        _scan_context(lines[0], 0, context)
        position = context.body_start = len(lines[0]) + 1
        lines = lines[1:]
    for line in lines:
        (labelled if _is_labelled_row(line) else flat_parts).append((position, line))
        position += len(line) + 1
    runs = _runs(flat_parts)
    for start, part in runs:  # units, scopes, titles and headers first: rows look back at them
        _scan_context(part, start, context)
    for years in (known_dates or {}).items():
        context.known.setdefault(years[0], set()).update(years[1])
    row_lines = [at for at, _ in labelled]
    context.page_header = list(page_header)
    for at, line in labelled:
        rows += _labelled_row(line, at, context, section, filing_period, row_lines)
    for start, part in runs:
        rows += _flat_rows(part, start, context, filing_period)
    return [r for r in rows if _real_label(r.label)]


def _header_before(context: _Context, at: int, row_lines: Sequence[int]) -> list[_Mark]:
    """The period marks of the header block above a row: those after the last table row that
    precedes the header's last mark."""
    before = [m for m in context.words if m.at < at]
    if not before:
        return []
    last = before[-1].at
    previous_row = max((r for r in row_lines if r < last), default=-1)
    return [m for m in before if m.at > previous_row]


def _runs(parts: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Consecutive non-table lines joined back into one stream (rows wrap across lines)."""
    runs: list[tuple[int, str]] = []
    for start, line in parts:
        if runs and runs[-1][0] + len(runs[-1][1]) + 1 == start:
            runs[-1] = (runs[-1][0], runs[-1][1] + " " + line)
        else:
            runs.append((start, line))
    return runs


def _scan_context(text: str, offset: int, context: _Context) -> None:
    for m in _UNIT.finditer(text):
        if _EXCEPTION.search(text, max(0, m.start() - 120), m.start()):
            continue  # "(In millions, except shares, which are in thousands)": not the amounts' unit
        currency = (m.group("cur") or m.group("cur2") or m.group("cur4") or "").lower().rstrip(".")
        scale = _SCALES.get((m.group("scale") or m.group("scale2") or m.group("scale3")
                             or m.group("scale4") or "").lower().lstrip("'’"))
        symbol = {"₹": "₹", "`": "₹", "rs": "₹", "inr": "₹", "rupee": "₹", "rupees": "₹", "$": "$",
                  "us$": "$", "usd": "$", "dollar": "$", "dollars": "$", "€": "€", "£": "£",
                  "a$": "A$", "c$": "C$"}.get(currency)
        if symbol is None and scale in ("crore", "lakh"):
            symbol = "₹"  # crore and lakh are rupee scales
        context.units.append((offset + m.start(), Unit(symbol, scale)))
    for m in _GLYPHLESS_SCALE.finditer(text):
        context.units.append((offset + m.start(1), Unit("₹", _SCALES[m.group(1).lower()])))
    context.units.sort(key=lambda found: found[0])
    for m in _SCOPE.finditer(text):
        scope = "consolidated" if m.group(1).lower() == "consolidated" else "standalone"
        context.scopes.append((offset + m.start(), scope))
    for m in _PARENT_STATEMENT.finditer(text):
        context.scopes.append((offset + m.start(), "standalone"))
    for m in STATEMENT_TITLE.finditer(text):
        context.statements.append((offset + m.start(), " ".join(m.group(0).lower().split())))
    for mark in period_marks(text, offset):
        context.words.append(mark)
        if mark.kind == "date":
            when: date = mark.value  # type: ignore[assignment]
            context.known.setdefault((when.month, when.day), set()).add(when.year)


def _is_labelled_row(line: str) -> bool:
    parts = line.split(" | ")
    return len(parts) >= 2 and all(": " in p for p in parts[1:])


def _labelled_row(line: str, at: int, context: _Context, section: str | None,
                  filing_period: str | None, row_lines: Sequence[int] = ()) -> list[Row]:
    """`Label | header: value | header: value`: each cell's own header says its period
    ("FY2024", "March 31, 2026", "Revenue FY2024") or that it is a change ("Change %");
    kinds missing from the headers come from the section ("3 months ended ... Year ended")."""
    label, *cells_text = line.split(" | ")
    headers = [c.rsplit(": ", 1)[0] for c in cells_text]
    values = [c.rsplit(": ", 1)[1].strip() for c in cells_text]
    if not all(_NUMBER.fullmatch(v) for v in values):
        return []
    # "2022 (€000)": ingestion writes a column's unit heading into its header.
    units = [m.group(1) for h in headers if (m := _HEADER_UNIT.search(h))]
    headers = [_HEADER_UNIT.sub("", h) for h in headers]
    unit = (declared(units[0])[0] or _currency_only(units[0])) if units else None
    section_kinds = [m for m in period_marks(section or "") if m.kind == "label"]
    per_cell = [period_marks(h) for h in headers]
    own_kinds = [m for marks in per_cell for m in marks if m.kind == "label"]
    periods = [[m for m in marks if m.kind != "label"] for marks in per_cell]
    columns: list[Column | None] = [None] * len(values)
    dated = [i for i, p in enumerate(periods) if len(p) == 1]
    if dated:
        kinds = own_kinds or section_kinds
        marks = [m for i in dated for m in periods[i]]
        built = columns_from_marks([*kinds, *marks]) if kinds else columns_from_marks(marks)
        if len(built) == len(dated):
            for i, column in zip(dated, built, strict=True):
                columns[i] = replace(column, text=headers[i].strip() or column.text)
            columns = list(_complete(columns, filing_period)) if all(columns) else columns
    for i, header in enumerate(headers):
        if columns[i] is None and _CHANGE.search(header):
            columns[i] = Column(text=header.strip(), change=True)
    years = [int(y) for h in headers if (y := _header_year(h))]
    if not dated and years and len(years) == len(values):
        # "Revenue | 2023: 18,120 | 2022: 5,931 | ...": the months, days and durations are
        # in the header lines above (or the chunk's section).
        marks = (_header_before(context, at, row_lines) or period_marks(section or "")
                 or context.page_header)
        built = grid_columns(marks, len(values), years=years, filing_period=filing_period,
                             known=context.known)
        if built:
            columns = list(built)
    if not any(c is not None and not c.change for c in columns):
        found = context.latest(context.headers, at)
        fitted = fit_columns(found[0], len(values)) if found else None
        if fitted:
            columns = list(_complete(fitted, filing_period))
    row = _make_row(label, values, columns, at, context)
    if unit is not None and unit.scale is None and row.unit is not None:
        # "2023 ($)" under "(In millions ...)": the header's currency, the page's scale
        unit = Unit(unit.currency or row.unit.currency, row.unit.scale)
    if unit is not None:
        row = replace(row, unit=unit)
    return [row]


def _currency_only(heading: str) -> Unit | None:
    """A column's currency printed without a scale: "$", "US$", "€"."""
    sign = heading.strip().upper().removeprefix("US")
    return Unit(sign, None) if sign in ("$", "€", "£") else None


def _flat_rows(text: str, offset: int, context: _Context, filing_period: str | None) -> list[Row]:
    """Rows of a flattened stream: a run of words (the label) then a run of numbers."""
    marks = period_marks(text, offset)
    spans = [(m.at - offset, m.at - offset + len(m.text)) for m in marks]
    tokens: list[tuple[int, str, str]] = []  # (position, "word"|"number"|"mark", text)
    cursor = 0
    for start, end in spans + [(len(text), len(text))]:
        tokens += _tokens(text[cursor:start], offset + cursor)
        if start < len(text):
            tokens.append((offset + start, "mark", text[start:end]))
        cursor = end
    rows: list[Row] = []
    header: list[_Mark] = []
    notes_column = False
    label: list[tuple[int, str]] = []
    numbers: list[str] = []
    marks_at = {m.at: m for m in marks}

    def close_header() -> None:
        nonlocal notes_column
        # Kinds alone ("Three months ended Six months ended" printed below a table) are not
        # a header of their own: the columns are still the dated ones above.
        if any(m.kind in ("date", "fiscal", "daymonth") for m in header):
            context.headers.append((header[0].at, (list(header), notes_column)))
        header.clear()
        notes_column = False

    currency: str | None = None
    for at, kind, word in tokens:
        if kind == "currency":
            currency = _CURRENCY_SYMBOLS.get(word.lower(), currency)
            continue
        if kind == "mark":
            if numbers:
                rows.extend(_flat_row(label, numbers, context, filing_period, currency))
                numbers, currency = [], None
            # Words before a header are a title or heading, not a row's label.
            notes_column = notes_column or any(w.lower().startswith("note") for _, w in label)
            label = []
            header.append(marks_at[at])
            continue
        if kind == "number":
            if _is_year(word) and label and _YEAR_CONTEXT.fullmatch(label[-1][1].strip(",.;:(")):
                # "in the third quarter of fiscal year 2024 reflected ...": a sentence's year,
                # not a figure (statements print amounts of four digits with a comma)
                label.append((at, word))
                continue
            if header and not label and _is_year(word):
                # a bare year under a header's kind ("Year ended 2024 2023")
                header.append(_Mark(at, "year", int(word), word))
                continue
            if header:
                notes_column = notes_column or any(w.lower().startswith("note") for _, w in label)
                close_header()
            numbers.append(word)
            continue
        if numbers:
            if not _SCALE_WORD.fullmatch(word.strip(".,;:")):
                rows.extend(_flat_row(label, numbers, context, filing_period, currency))
            # else "charges totaling $607 million": a sentence's amount (a statement prints
            # its scale once, above the figures), which the prose reader takes with its unit
            numbers, label, currency = [], [], None
        label.append((at, word))
    close_header()
    if label and numbers:
        rows.extend(_flat_row(label, numbers, context, filing_period, currency))
    return rows


_YEAR_CONTEXT = re.compile(
    rf"year|fiscal|calendar|fy|in|of|since|during|through|until|ended|ending|from|to|by|before|after|"
    rf"early|late|mid|{_MON}",
    re.IGNORECASE)


_SCALE_WORD = re.compile(r"million|millions|billion|billions|crores?|lakhs?|thousands?|mn|bn|cr",
                         re.IGNORECASE)


_HEADER_UNIT = re.compile(r"\s*\(((?:US|A|C)?[$€£]\s?(?:['’]?000|m|bn)?)\)\s*$", re.IGNORECASE)
_YEAR_HEADER = re.compile(r"(?:(?:consolidated|group|restated)\s+)?((?:19|20)\d{2})(?:\s+restated)?", re.IGNORECASE)


def _header_year(header: str) -> str | None:
    """The year a column header names alone ("2023", "Consolidated 2023", "Group 2022")."""
    m = _YEAR_HEADER.fullmatch(header.strip())
    return m.group(1) if m and _is_year(m.group(1)) else None


def _is_year(word: str) -> bool:
    return word.isdigit() and 1990 <= int(word) <= 2100


_CURRENCY_TOKEN = re.compile(r"(?:US)?\$|₹|€|£|Rs\.?|INR|USD", re.IGNORECASE)
_CURRENCY_SYMBOLS = {"$": "$", "us$": "$", "usd": "$", "₹": "₹", "rs": "₹", "rs.": "₹", "inr": "₹",
                     "€": "€", "£": "£"}


def _tokens(text: str, offset: int) -> list[tuple[int, str, str]]:
    """Words, numbers and currency signs ("$ 402,392", "$24,048": US statements print the
    sign before the first and total rows' figures)."""
    out = []
    for m in re.finditer(r"\S+", text):
        word = m.group(0)
        at = offset + m.start()
        attached = re.fullmatch(r"(\(?)([$₹€£])(.+)", word)
        if attached and re.fullmatch(r"['’]?000\)?", attached.group(3)):
            out.append((at, "word", word))  # "€000": the column's unit, not a figure
        elif attached and _NUMBER.fullmatch(attached.group(1) + attached.group(3)):
            out.append((at, "currency", attached.group(2)))
            out.append((at + 1, "number", attached.group(1) + attached.group(3)))
        elif _CURRENCY_TOKEN.fullmatch(word):
            out.append((at, "currency", word))
        elif word == "%" and out and out[-1][1] == "number" and not out[-1][2].endswith("%"):
            out[-1] = (out[-1][0], "number", out[-1][2] + "%")  # "44.5 % 43.3 %": one cell each
        else:
            out.append((at, "number" if _NUMBER.fullmatch(word) else "word", word))
    return out


def _flat_row(label: list[tuple[int, str]], numbers: list[str], context: _Context,
              filing_period: str | None, currency: str | None = None) -> list[Row]:
    if not label:
        return []  # figures with no label before them (a wrapped row's tail)
    at = label[0][0]
    words = [w for _, w in label]
    # Header words before the first real label word ("(Audited) (Unaudited) Revenue ...").
    while words and words[0].lower().strip("().") in _HEADER_WORDS:
        words.pop(0)
    text = " ".join(words)
    values = list(numbers)
    found = context.latest(context.headers, at)
    marks, has_notes = found if found else ([], False)
    # A notes column before the figures ("Revenue from operations 24 9,74,864 8,77,835"), and
    # the next row's item number after them ("... 43,150 2 Other income") are not figures.
    if len(values) >= 3 and _note_like(values[0]) and (has_notes or _shorter(values[0], values[1:])):
        values = values[1:]
    if len(values) >= 3 and _note_like(values[-1]) and _shorter(values[-1], values[:-1]):
        values = values[:-1]
    columns: list[Column | None] | None = None
    fitted: Sequence[Column | None] | None = fit_columns(marks, len(values)) if marks else None
    if fitted is None and marks and context.page_header:
        # "As of December 31, 2023" in a chunk of its own, "As of September 30, 2024" above
        # the rows: the page's header columns come first.
        fitted = fit_columns([*context.page_header, *marks], len(values))
    if fitted is None and marks:
        fitted = _cut_header_columns(marks, len(values), context.body_start)
    if fitted is None and marks:
        fitted = grid_columns(marks, len(values), filing_period=filing_period, known=context.known)
    if fitted is None and not marks and context.page_header:
        fitted = fit_columns(context.page_header, len(values)) or grid_columns(
            context.page_header, len(values), filing_period=filing_period, known=context.known)
    if fitted is not None:
        columns = list(_complete(fitted, filing_period)) if all(fitted) else list(fitted)  # type: ignore[arg-type]
    else:
        assumed = assumed_columns(filing_period, len(values))
        columns = list(assumed) if assumed else [None] * len(values)
    if len(values) < 2 and fitted is None:
        return []
    return [_make_row(text, values, columns, at, context, currency)]


def _cut_header_columns(marks: Sequence[_Mark], count: int, start: int = 0) -> list[Column | None] | None:
    """A passage that begins inside a header ("As of September 30, 2024 (unaudited) Assets
    ..." over two columns, "As of December 31, 2023" the end of the chunk before): the
    chunk boundary cut the header's first columns away, so the dates it shows, years and
    all, are the last columns; the first are not known. Only balance dates ("As of"): a
    duration header also heads change columns ("Three Months Ended October 29, 2023 July 30,
    2023 ... Year-over-Year Change") it does not date. None unless the passage starts with
    the header and shows only full dates, fewer than the row's figures."""
    if not marks or marks[0].at != start or any(m.kind in ("year", "daymonth", "fiscal") for m in marks):
        return None
    if any(m.kind == "label" and m.value != "p" for m in marks) or marks[0].kind != "label":
        return None
    dates = [m for m in marks if m.kind == "date"]
    if not dates or len(dates) >= count:
        return None
    shown = fit_columns(marks, len(dates))
    if shown is None:
        return None
    return [*([None] * (count - len(shown))), *shown]


def _shorter(value: str, others: Sequence[str]) -> bool:
    """A whole number written with fewer digits than every other figure of the row."""
    digits = len(value.strip("()"))
    return all(len(re.sub(r"\D", "", o.split(".")[0])) > digits for o in others if o[:1].isdigit() or o[:1] == "(")


def _note_like(value: str) -> bool:
    """A notes reference or an item number: a small whole number or `2.21`, no commas."""
    return bool(re.fullmatch(r"\d{1,2}|\d{1,2}\.\d{1,2}", value)) and "," not in value


def _make_row(label: str, values: list[str], columns: list[Column | None], at: int,
              context: _Context, currency: str | None = None) -> Row:
    label = _ITEM_MARK.sub("", " ".join(label.split())).strip(" :-")
    unit = context.latest(context.units, at, or_next=True)
    if currency and (unit is None or unit.currency is None):
        unit = Unit(currency, unit.scale if unit else None)
    return Row(
        label=label,
        cells=tuple(Cell(v, parse_number(v)) for v in values),
        columns=tuple(columns),
        unit=unit,
        scope=context.latest(context.scopes, at, or_next=True),
        statement=context.latest(context.statements, at, or_next=True),
        per_share=bool(_PER_SHARE.search(label) or _PER_SHARE.search(label.replace(" ", ""))),
        percent=_percent_row(label, values),
    )


def _percent_row(label: str, values: Sequence[str]) -> bool:
    """Percentages: the label or the cells say so. A "margin" row of amounts is not one: US
    statements print gross profit as "Gross margin 36,413 35,885"."""
    if all(v.endswith("%") for v in values):
        return True
    if not _PERCENT_LABEL.search(label):
        return False
    if re.search(r"%|per\s*cent", label, re.IGNORECASE):
        return True
    numbers = [parse_number(v) for v in values]
    return not any(n is not None and abs(n) >= 1000 for n in numbers)


# A sentence read as a row ("... operating margin percent expanded by 4.5 percentage points"):
# the figure after "expanded by" is a change, and the words before it are no row's label.
_CHANGED_BY = re.compile(r"\b(?:expanded|contracted|increased|decreased|grew|rose|fell|declined|improved|"
                         r"widened|narrowed|up|down)\s+by$", re.IGNORECASE)


def _real_label(label: str) -> bool:
    return sum(ch.isalpha() for ch in label) >= 3 and not _CHANGED_BY.search(label.strip())
