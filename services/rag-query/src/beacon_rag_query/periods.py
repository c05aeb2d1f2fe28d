"""Fiscal periods as questions name them, on the company's own fiscal calendar.

A fiscal year is named by the calendar year it ends in and ends with `end_month`: the Indian
year (the default, March) FY2024 runs 2023-04-01 .. 2024-03-31, Q1 April-June, H1
April-September; a December filer's FY2024 is calendar 2024; NVIDIA's (January) FY2024 runs
2023-02-01 .. 2024-01-31. Canonical labels match the ingestion service's: `FY2024`, `Q3FY25`,
`H1FY24`; the calendar does not change a label, only the dates it stands for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta


@dataclass(frozen=True, order=True)
class FiscalPeriod:
    fiscal_year: int  # the calendar year in which the fiscal year ends
    kind: str  # "FY", "H" or "Q"
    number: int = 0  # the quarter or half; 0 for a whole year
    end_month: int = field(default=3, compare=False)  # the month the company's fiscal year ends

    @property
    def label(self) -> str:
        if self.kind == "FY":
            return f"FY{self.fiscal_year}"
        return f"{self.kind}{self.number}FY{self.fiscal_year % 100:02d}"

    @property
    def start(self) -> date:
        months = {"FY": 0, "H": 6 * (self.number - 1), "Q": 3 * (self.number - 1)}[self.kind]
        return _add_months(date(self.fiscal_year - 1, self.end_month, 1), 1 + months)

    @property
    def end(self) -> date:
        length = {"FY": 12, "H": 6, "Q": 3}[self.kind]
        return _add_months(self.start, length) - timedelta(days=1)

    def contains(self, other: FiscalPeriod) -> bool:
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: FiscalPeriod) -> bool:
        return self.start <= other.end and other.start <= self.end

    def search_labels(self) -> list[str]:
        """Labels of filings that report this period: a year is also reported in its Q4
        results, a half in its quarters' results."""
        labels = [self.label]
        if self.kind == "FY":
            labels.append(FiscalPeriod(self.fiscal_year, "Q", 4).label)
        elif self.kind == "H":
            labels += [FiscalPeriod(self.fiscal_year, "Q", 2 * self.number - q).label for q in (1, 0)]
        return labels

    def text_variants(self) -> list[str]:
        """How filings write this period in prose, for query expansion and grading."""
        fy, prev = self.fiscal_year, self.fiscal_year - 1
        years = [f"FY{fy}", f"FY{fy % 100:02d}", f"{prev}-{fy % 100:02d}", f"{prev}-{fy}", str(fy)]
        if self.kind == "FY":
            return years
        return [self.label, f"{self.kind}{self.number} FY{fy % 100:02d}", *years]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def fiscal_year_of(day: date, end_month: int = 3) -> int:
    return day.year + 1 if day.month > end_month else day.year


def period_of(day: date, kind: str, end_month: int = 3) -> FiscalPeriod:
    fy = fiscal_year_of(day, end_month)
    months_in = (day.month - end_month - 1) % 12
    if kind == "FY":
        return FiscalPeriod(fy, "FY", end_month=end_month)
    if kind == "H":
        return FiscalPeriod(fy, "H", months_in // 6 + 1, end_month)
    return FiscalPeriod(fy, "Q", months_in // 3 + 1, end_month)


def previous(period: FiscalPeriod) -> FiscalPeriod:
    return period_of(period.start - timedelta(days=1), period.kind, period.end_month)


def on_calendar(periods: list[FiscalPeriod], end_month: int) -> list[FiscalPeriod]:
    """The same labels on a company's fiscal calendar (FY2024 of a December filer is 2024)."""
    return [replace(p, end_month=end_month) for p in periods]


def _year(text: str) -> int:
    value = int(text)
    return 2000 + value if len(text) == 2 else value


_YEAR = r"(?:'?(?P<first>\d{2}|\d{4})(?:\s*[-/]\s*(?P<second>\d{2}|\d{4}))?)"
_EXPLICIT = re.compile(
    r"(?<![A-Za-z0-9])"
    r"(?:(?P<part>[QH])\s*(?P<num>[1-4])\s*[-/,]?\s*(?:of\s+)?)?"
    rf"(?:FY|F\.Y\.|fiscal(?:\s+year)?|financial\s+year)\s*[-:]?\s*{_YEAR}"
    r"(?![0-9])",
    re.IGNORECASE,
)
# "the third quarter of fiscal 2023", "second fiscal quarter of 2023", "Q3 of fiscal year 2024":
# a quarter or half counted on the company's fiscal year. Without "fiscal" a quarter of a year
# ("third quarter of 2023") is a calendar quarter and names no fiscal period (ambiguous).
_ORDINAL = re.compile(
    r"\b(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th)\s+"
    r"(?:(?P<f1>fiscal|financial)\s+)?(?P<unit>quarter|half)\s+of\s+"
    r"(?:the\s+)?(?:(?P<f2>fiscal|financial)\s+(?:year\s+)?)?(?P<year>(?:19|20)\d{2})\b",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_BARE_RANGE = re.compile(r"(?<![\w-])((?:19|20)\d{2})\s*-\s*(\d{2})(?![\w-])")
_RELATIVE = re.compile(
    r"\b(?P<which>last|previous|prior|this|current|latest)\s+"
    r"(?P<unit>quarter|half|half[- ]year|fiscal(?:\s+year)?|financial\s+year|year)\b",
    re.IGNORECASE,
)


def parse_periods(text: str, today: date) -> list[FiscalPeriod]:
    """Every fiscal period a question names, in order of appearance, without duplicates."""
    found: list[tuple[int, FiscalPeriod]] = []
    taken: list[tuple[int, int]] = []
    for m in _ORDINAL.finditer(text):
        number, kind = _ORDINALS[m.group("ord").lower()], m.group("unit").lower()
        if not (m.group("f1") or m.group("f2")) or (kind == "half" and number > 2):
            continue
        found.append((m.start(), FiscalPeriod(int(m.group("year")), "Q" if kind == "quarter" else "H", number)))
        taken.append(m.span())
    for m in _EXPLICIT.finditer(text):
        if any(start <= m.start() < end for start, end in taken):
            continue  # "fiscal 2023" inside "the third quarter of fiscal 2023"
        period = _explicit(m)
        if period is not None:
            found.append((m.start(), period))
    for m in _BARE_RANGE.finditer(text):
        start, end = int(m.group(1)), int(m.group(2))
        if (start + 1) % 100 == end:
            found.append((m.start(), FiscalPeriod(start + 1, "FY")))
    for m in _RELATIVE.finditer(text):
        found.append((m.start(), _relative(m.group("which"), m.group("unit"), today)))
    periods: list[FiscalPeriod] = []
    for _, period in sorted(found, key=lambda item: item[0]):
        if period not in periods:
            periods.append(period)
    return periods


def _explicit(m: re.Match) -> FiscalPeriod | None:
    first, second = m.group("first"), m.group("second")
    if second is not None:
        # A range: "2023-24" or "2023-2024" names the year ending in the second part.
        start, end = _year(first), _year(second)
        if len(second) == 2:
            end = (start // 100) * 100 + int(second)
        if end != start + 1:
            return None
        fiscal_year = end
    else:
        fiscal_year = _year(first)
    if not 1990 <= fiscal_year <= 2100:
        return None
    part = (m.group("part") or "").upper()
    if part:
        return FiscalPeriod(fiscal_year, part, int(m.group("num")))
    return FiscalPeriod(fiscal_year, "FY")


def _relative(which: str, unit: str, today: date) -> FiscalPeriod:
    unit = unit.lower()
    kind = "Q" if unit == "quarter" else "H" if unit.startswith("half") else "FY"
    current = period_of(today, kind)
    if which.lower() in ("this", "current"):
        return current
    # "last quarter" is the latest completed one, as is "latest".
    return previous(current)


def period_from_label(label: str) -> FiscalPeriod | None:
    """Read a canonical label back (as stored on filings); None if it is not one."""
    periods = parse_periods(label, date(2000, 1, 1))
    return periods[0] if len(periods) == 1 else None
