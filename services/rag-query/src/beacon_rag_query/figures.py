"""Finding one figure: the statement row and column (or the sentence) that state a line item
for a company and period.

Rows come from `statements.py`; a passage that does not say its unit or scope takes them
from another passage of the same page. A row matches by its label (the catalogue's labels
best first, or the question's own words: "unbilled revenue"), or as a breakdown: a row the
question names with its other words ("Retail" for "the Retail segment") whose column names
the item ("Revenue FY2024"). Among matches the score prefers the asked period, the asked
scope (consolidated otherwise), a statement page with a unit, and the retrieval grade. A
figure only stated in prose is taken from the sentence. Values keep the filing's units.
Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from beacon_rag_query.asked import Asked
from beacon_rag_query.domain import Evidence
from beacon_rag_query.lineitems import LineItem
from beacon_rag_query.periods import parse_periods, period_from_label
from beacon_rag_query.statements import Column, Row, Unit, declared, period_marks, read_rows
from beacon_rag_query.text import Amount, amounts, content_terms, sentences


@dataclass(frozen=True)
class Figure:
    """One value of one line item, as a statement row (or a sentence) states it."""

    company: str | None
    item: str  # how the answer names it (the filing's label, in sentence case)
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
    asked: Asked | None = None  # the asked period it answers


@dataclass(frozen=True)
class Sourced:
    row: Row
    evidence: Evidence
    heading: str = ""  # the group heading the row sits under ("Net sales:", "Operating income (loss):")


def evidence_rows(evidence: Sequence[Evidence]) -> list[Sourced]:
    """Every statement row of every passage; a row whose passage does not say its unit or
    scope takes them from another passage of the same page (a chunk cut below the title)."""
    parsed = []
    page_units: dict[tuple, Unit] = {}
    page_scales: dict[tuple, str] = {}
    page_currencies: dict[tuple, str] = {}
    page_scopes: dict[tuple, str] = {}
    known: dict[object, dict[tuple[int, int], set[int]]] = {}
    for e in evidence:  # the years each document writes with a month and day
        years = known.setdefault(e.document_id, {})
        for mark in period_marks(e.text):
            if mark.kind == "date":
                years.setdefault((mark.value.month, mark.value.day), set()).add(mark.value.year)  # type: ignore[union-attr]
    headers = _page_headers(evidence)
    for e in evidence:
        found = read_rows(e.text, section=e.section, title=e.document_title,
                          filing_period=e.fiscal_period, known_dates=known.get(e.document_id),
                          page_header=headers.get((e.document_id, e.page_number), ()))
        parsed.append((e, found))
        key = (e.document_id, e.page_number)
        unit, scope = declared(e.text)
        if unit is not None and unit.scale is not None:
            page_scales.setdefault(key, unit.scale)
        for row in found:
            unit, scope = unit or row.unit, scope or row.scope
            if row.unit is not None and row.unit.currency is not None:
                page_currencies.setdefault(key, row.unit.currency)
        if unit is not None:
            page_units.setdefault(key, unit)
            if unit.currency is not None:
                page_currencies.setdefault(key, unit.currency)
        if scope is not None:
            page_scopes.setdefault(key, scope)
    rows = []
    for e, found in parsed:
        key = (e.document_id, e.page_number)
        headings = _row_headings(e.text, found)
        for row, heading in zip(found, headings, strict=True):
            if row.unit is None and key in page_units and not _HEADCOUNT.search(row.label):
                # (a headcount is people, whatever unit the page's amounts are in)
                row = replace(row, unit=page_units[key])
                # The page's "$" (printed before its first and total rows' figures), except on
                # a count ("Number of employees" on a page "(in millions, except ...)").
                if (row.unit is not None and row.unit.currency is None and key in page_currencies
                        and not _COUNT.search(row.label)):
                    row = replace(row, unit=Unit(page_currencies[key], row.unit.scale))
            elif row.unit is not None and not row.per_share and not row.percent:
                # US statements print "$" on the first and total rows only and "(In millions)"
                # once above the table, often in another chunk: one unit for the page.
                currency = row.unit.currency or page_currencies.get(key)
                scale = row.unit.scale or page_scales.get(key) or (
                    page_units[key].scale if key in page_units else None)
                if (currency, scale) != (row.unit.currency, row.unit.scale):
                    row = replace(row, unit=Unit(currency, scale))
            if row.unit is not None and _HEADCOUNT.search(row.label):
                row = replace(row, unit=None)  # people, whatever the columns' "$" and scale say
            if row.scope is None and key in page_scopes:
                row = replace(row, scope=page_scopes[key])
            rows.append(Sourced(row, e, heading))
    return rows


_HEADING = re.compile(r"([A-Za-z][A-Za-z ,()/&'’-]{2,60}):(?=\s|$)")


# Ingestion writes a table's group heading as a row without figures under the label column's
# own heading: "Particulars: North America", "Particulars: Operating expenses:".
_GROUP_LINE = re.compile(r"^[^|:\n]{1,40}:[ \t]+([^|:\n\d]{2,80}?):?[ \t]*$", re.MULTILINE)


def _row_headings(text: str, rows: Sequence[Row]) -> list[str]:
    """The last heading ("Net sales:", "Particulars: Operating income (loss):") before each
    row in the passage: US statements list a total's parts under it ("Net sales: Products ...
    Services ..."), and the same part name under the next heading ("Cost of sales: ...
    Services ...")."""
    out, cursor = [], 0
    for row in rows:
        first = row.label.split()[0] if row.label.split() else ""
        at = text.find(first, cursor) if first else -1
        if at < 0:
            out.append("")
            continue
        # the row's own label may begin with its heading ("Net sales: Products")
        end = at + len(row.label) if text.startswith(row.label, at) else at
        found = [(m.start(1), m.group(1).strip()) for m in _HEADING.finditer(text, 0, end)]
        # a group's own line ("Particulars: North America"): the group, not the column's name
        found += [(m.start(1), m.group(1).strip()) for m in _GROUP_LINE.finditer(text, 0, end)]
        out.append(max(found)[1] if found else "")
        cursor = at + 1
    return out


def _page_headers(evidence: Sequence[Evidence]) -> dict[tuple, list]:
    """A statement's column headers when they are a chunk of their own ("Three Months Ended
    Nine Months Ended October 29, October 30, ..." above a chunk of rows): the period marks
    of a passage of the page that has headers and no figures, for the page's other passages."""
    found: dict[tuple, list[list]] = {}
    for e in evidence:
        figures = re.findall(r"(?<![\w.,])\(?\d{1,3}(?:,\d{3})+(?:\.\d+)?\)?", e.text)
        if figures:
            continue
        if len(e.text) > _HEADER_CHARS:
            continue  # prose of the page (a footnote's dates), not a block of column headers
        marks = [m for m in period_marks(e.text) if m.kind in ("label", "daymonth", "date")]
        if any(m.kind != "label" for m in marks):
            found.setdefault((e.document_id, e.page_number), []).append(marks)
    out: dict[tuple, list] = {}
    for key, parts in found.items():
        if len(parts) == 1:
            out[key] = parts[0]
            continue
        # Each duration group's heading in a chunk of its own ("Three Months Ended September
        # 30," then "Nine Months Ended September 30,"), in retrieval order: statements print
        # the groups shortest first.
        labels = sorted({m.text.lower(): m for part in parts for m in part if m.kind == "label"}.values(),
                        key=lambda m: _GROUP_ORDER.get(str(m.value), 9))
        out[key] = [*labels, *(m for part in parts for m in part if m.kind != "label")]
    return out


_HEADCOUNT = re.compile(r"\b(employees|headcount|head count)\b", re.IGNORECASE)
_COUNT = re.compile(r"\b(number|employees|headcount|shares|stores|units|customers|subscribers)\b",
                    re.IGNORECASE)
_HEADER_CHARS = 400  # a section title line and the headers of a few columns
_GROUP_ORDER = {"q": 0, "h": 1, "n": 2, "t": 3, "y": 4, "p": 5}


# ---- labels -------------------------------------------------------------------------------

_ACRONYMS = frozenset("EPS EBITDA EBIT PAT PBT OCI GST CSR FCF ROE ROA NPA CASA NIM IT US USD INR "
                      "IFRS GAAP TCV".split())
_DILUTED = re.compile(r"\bdiluted\b", re.IGNORECASE)
_SEGMENT = re.compile(r"\bsegments?\b", re.IGNORECASE)
_SEGMENT_TERMS = frozenset(content_terms("segment segments"))
_BREAKDOWN_WORDS = frozenset(content_terms("segment segments business businesses division vertical "
                                           "unit geography region market"))


def clean_label(label: str) -> str:
    # "(a)", "(ii)", "(1)": footnote marks ("Diluted (2)" is the diluted row), not words
    text = re.sub(r"\((?:[a-z]|[ivx]+|\d{1,2}|refer[^)]*|note[^)]*|net|\$|₹|rs\.?)\)", " ", label, flags=re.I)
    text = re.sub(r"(?<!\w)[$₹€£](?!\w)", " ", text)
    return " ".join(text.lower().replace("’", "'").split()).strip(" :-")


def answer_name(label: str) -> str:
    """A row label as a sentence names it: "Basic EPS ($)" -> "basic EPS",
    "PROFIT FOR THE PERIOD" -> "profit for the period"."""
    text = re.sub(r"\((?:[a-z]|[ivx]+|\d{1,2}|refer[^)]*|note[^)]*|\$|₹|rs\.?|in [^)]*)\)", " ", label, flags=re.I)
    text = re.sub(r"(?<!\w)[$₹€£](?!\w)", " ", text)
    shouting = sum(1 for w in text.split() if w.isupper()) >= 2
    words = []
    for word in text.split():
        letters = [c for c in word if c.isalpha()]
        acronym = len(letters) >= 2 and all(c.isupper() for c in letters)
        keep = acronym and (not shouting or word.strip("(),.:") in _ACRONYMS)
        words.append(word if keep else word.lower())
    return " ".join(words).strip(" :-")


def _squashed(pattern: re.Pattern) -> re.Pattern:
    source = re.sub(r"\\s[+*?]?|\\b| ", "", pattern.pattern).lstrip("^")
    return re.compile(source, pattern.flags)


def label_score(item: LineItem, label: str) -> tuple[float, int, bool] | None:
    """How well a row label names the item (0..1), where the match starts, and whether only
    with the label's spaces removed; None if it does not. A
    heading may precede the label ("ASSETS Current assets Cash and cash equivalents"), and
    some text is extracted with stray spaces inside words ("Empl oyee benefit expenses")."""
    clean = clean_label(label)
    if item.exclude is not None and item.exclude.search(clean):
        return None
    patterns = item.labels
    for rank, pattern in enumerate(patterns):
        starts = [0] + [m.end() for m in re.finditer(r"\s", clean)]
        for start in starts:
            tail = clean[start:]
            m = pattern.search(tail)
            if m:
                tight = (m.end() - m.start()) / max(len(tail), 1)
                return (1.0 - rank / (len(patterns) + 1)) * (0.6 + 0.4 * tight), start, False
    squashed = clean.replace(" ", "")
    if item.exclude is not None and _squashed(item.exclude).search(squashed):
        return None
    for rank, pattern in enumerate(patterns):
        m = _squashed(pattern).search(squashed)
        if m:
            tight = (m.end() - m.start()) / max(len(squashed), 1)
            return (1.0 - rank / (len(patterns) + 1)) * (0.5 + 0.4 * tight), 0, True
    return None


def terms_score(terms: frozenset[str], label: str, *, whole: bool = False,
                named: frozenset[str] = frozenset()) -> float | None:
    """A row named by the question's own words: most of the label's words are asked for.
    `whole`: every word of a label of two words or more, including the words that named
    the line item ("unbilled revenue" for revenue)."""
    words = content_terms(clean_label(label))
    if not words or not terms:
        return None
    shared = len(words & terms)
    if shared == 0:
        return None
    if whole:
        return 1.0 if shared == len(words) >= 2 and named <= words else None
    score = shared / len(words) * (shared / len(terms))
    return score if shared / len(words) >= 0.6 else None


def _names_breakdown(leftover: frozenset[str], label: str, entity: frozenset[str] = frozenset()) -> bool:
    """The row's label is the part the question names: its words are the question's own (or
    the company's name, which the question's words lose: "Google Cloud" for Alphabet)."""
    words = content_terms(clean_label(label))
    return bool(words) and words <= leftover | _BREAKDOWN_WORDS | entity and bool(words & leftover)


def column_names(item: LineItem, column: Column) -> bool:
    text = column.text.lower()
    return bool(item.asked.search(text) or any(p.search(text) for p in item.labels))


# ---- one figure from the rows -------------------------------------------------------------


def describe(column: Column | None, asked: Asked | None) -> tuple[str, str | None]:
    """How the answer writes the figure's period, and the period's label."""
    if asked is not None:
        if (column is not None and column.end is not None and not column.assumed and column.month_known
                and asked.fiscal is not None):
            return f"{asked.label} ({column.describe()})", asked.label
        if column is not None and column.end is not None and asked.fiscal is None and column.month_known:
            return column.describe(), asked.label
        return asked.label, asked.label
    if column is None:
        return "the latest period reported", None
    if column.fiscal is not None:
        return column.fiscal, column.fiscal
    return column.describe(), None


@dataclass(frozen=True)
class Lookup:
    """What to look for: the line item (or the question's own words), for whom, when."""

    item: LineItem | None
    terms: frozenset[str] = frozenset()
    named: frozenset[str] = frozenset()
    company: str | None = None
    period: Asked | None = None
    scope: str | None = None
    diluted: bool = False
    change: bool = False  # the row's change column ("Change %") instead of a period's value
    percent: bool | None = None  # only rows of percentages (True) or of amounts (False)
    entity: frozenset[str] = frozenset()  # the company-name words the question used ("google")


_QUALIFIERS = frozenset(content_terms("basic diluted"))  # which EPS, not a part of a total
_FOOTNOTE = re.compile(r"\s*\(\d{1,2}\)")  # "Diluted (2)"
_BARE_EPS = re.compile(r"\s*(basic|diluted|basic and diluted)\s*(\(\s*[$₹]\s*\)|[$₹])?\s*", re.IGNORECASE)


def find_item(lookup: Lookup, rows: Sequence[Sourced]) -> Figure | None:
    """The best statement row and column for the lookup, or None."""
    best: tuple[float, Figure] | None = None
    leftover = lookup.terms - lookup.named - _BREAKDOWN_WORDS - _QUALIFIERS
    groups = _label_groups(rows)
    for sourced in rows:
        row, e = sourced.row, sourced.evidence
        if lookup.company is not None and e.company_symbol not in (None, lookup.company):
            continue
        if lookup.scope is not None and row.scope is not None and row.scope != lookup.scope:
            continue
        if lookup.percent is not None and row.percent != lookup.percent:
            continue
        if (lookup.percent is None and row.percent and not lookup.change and lookup.item is not None
                and not lookup.item.key.startswith("printed_")):
            continue  # an amount is not read off "Percentage of total net sales 9 % 8 %"
        matched = _row_match(lookup, leftover, row, sourced.heading or e.section or "")
        if matched is None:
            continue
        score_label, start, breakdown, squashed = matched
        if not breakdown and not _group_asked(sourced, groups, leftover):
            score_label *= 0.5
        by_column = breakdown and not _heading_names(lookup.item, sourced.heading or e.section or "")
        index = _change_column(row) if lookup.change else column_for(row, lookup, e, by_column)
        if index is None or (lookup.change and lookup.period is not None
                             and column_for(row, lookup, e, False) is None):
            continue
        cell = row.cells[index]
        if cell.value is None:
            continue
        if cell.text.endswith("%") and not (lookup.change or lookup.percent or row.percent):
            continue  # "(3)%", a change column the header did not name, is not an amount
        column = row.columns[index]
        exact = lookup.period is not None and (lookup.change or lookup.period.matches(column))
        period_text, period_label = describe(None if lookup.change else (column if exact or lookup.period is None else None),
                                             lookup.period)
        score = (
            3.0 * score_label
            + (1.0 if exact else 0.4)
            + {"consolidated": 0.5, None: 0.25, "standalone": 0.0}[row.scope] * (lookup.scope is None)
            + (0.3 if row.statement else 0.0)
            + (0.2 if row.unit is not None else 0.0)
            + 0.3 * min(max(e.score, 0.0), 1.0)
        )
        clean = " ".join(row.label.split()[len(row.label[:start].split()):]) or row.label
        item = lookup.item
        name = (item.name if item is not None and squashed else answer_name(clean) if item is not None
                else _terms_name(lookup.terms, clean))
        bare = _FOOTNOTE.sub("", clean).strip()
        if item is not None and item.key == "eps" and _BARE_EPS.fullmatch(bare):
            # "Earnings per share: Basic ... Diluted ...": the row says only which one.
            name = f"{bare.strip(' $()').lower()} earnings per share"
            row = replace(row, per_share=True)
        if breakdown and item is not None:
            kind = next((w for w in ("segment", "business", "division", "region") if w in lookup.terms), "")
            what = "revenue" if item.key == "revenue" else item.name
            part = answer_name(clean) if clean.isupper() else clean
            # "EBITDA of the Retail segment", "revenue of Google Cloud"
            name = f"{what} of the {part} {kind}" if kind else f"{what} of {part}"
        figure = Figure(
            company=lookup.company or e.company_symbol, item=name, label=clean, value=cell.value,
            text=f"{cell.text.strip('()%')}%" if lookup.change else row.render(cell),
            number=cell.text.strip("()%"), period=period_text, period_label=period_label,
            scope=row.scope, evidence=e.index, unit=None if lookup.change else row.unit,
            percent=lookup.change or row.percent, change=lookup.change, asked=lookup.period,
        )
        if best is None or score > best[0]:
            best = (score, figure)
    return best[1] if best else None


def _label_groups(rows: Sequence[Sourced]) -> dict[tuple[int, str], set[str]]:
    """The headings each row label of a passage sits under."""
    groups: dict[tuple[int, str], set[str]] = {}
    for sourced in rows:
        groups.setdefault((sourced.evidence.index, clean_label(sourced.row.label)), set()).add(
            clean_label(sourced.heading))
    return groups


_WHOLE_GROUP = re.compile(r"\b(consolidated|total)\b", re.IGNORECASE)


def _group_asked(sourced: Sourced, groups: dict[tuple[int, str], set[str]], leftover: frozenset[str]) -> bool:
    """A label the passage repeats under several group headings ("North America: Net sales",
    "AWS: Net sales", "Consolidated: Net sales") is each group's figure: the asked group's
    when the question names one, else the consolidated (total) group's. A label printed
    under one heading, or under headings none of which is asked or the total, is not told
    apart here."""
    headings = groups.get((sourced.evidence.index, clean_label(sourced.row.label)), set())
    if len(headings) < 2:
        return True
    heading = clean_label(sourced.heading)
    named = {h for h in headings if content_terms(h) & leftover}
    if named:
        return heading in named
    whole = {h for h in headings if _WHOLE_GROUP.search(h)}
    return heading in whole if whole else True


def _heading_names(item: LineItem | None, heading: str) -> bool:
    """The heading a row sits under names the item ("Net sales:" over "Services 21,213")."""
    if item is None or not heading:
        return False
    clean = clean_label(heading)
    if item.exclude is not None and item.exclude.search(clean):
        return False
    return any(p.search(clean) for p in item.labels)


def _row_match(lookup: Lookup, leftover: frozenset[str], row: Row,
               heading: str = "") -> tuple[float, int, bool, bool] | None:
    """(label score, where the label starts after any heading, whether a breakdown row,
    whether matched only without spaces). A breakdown row is one the question names in its
    own words ("Google Cloud revenues") whose columns or heading name the item."""
    item = lookup.item
    if item is not None and leftover and _names_breakdown(leftover, row.label, lookup.entity) and (
            any(c is not None and column_names(item, c) for c in row.columns)
            or _heading_names(item, heading)):
        return 1.1, 0, True, False
    if item is None:
        score = terms_score(lookup.terms, row.label)
        return (score, 0, False, False) if score else None
    matched = label_score(item, row.label)
    whole = terms_score(lookup.terms, row.label, whole=True, named=lookup.named) if lookup.named else None
    if whole:
        # The question names this row in its own words ("unbilled revenue").
        matched = (max(whole, matched[0] if matched else 0.0), 0, False)
    if matched is None:
        return None
    score, start, squashed = matched
    if item.key == "eps" and lookup.diluted != bool(_DILUTED.search(row.label)):
        score *= 0.5
    if _SEGMENT.search(row.label) and not lookup.terms & _SEGMENT_TERMS:
        # "Segment operating income" sums the segments before corporate costs; the total
        # ("Total operating income") is the company's figure unless a segment is asked.
        score *= 0.5
    return score, start, False, squashed


def _change_column(row: Row) -> int | None:
    return next((i for i, c in enumerate(row.columns) if c is not None and c.change), None)


def column_for(row: Row, lookup: Lookup, e: Evidence, breakdown: bool = False) -> int | None:
    """The cell of the asked period; without one, the current period (first column). Of two
    columns of the period, the one whose header names the item ("Revenue FY2024")."""
    item, period = lookup.item, lookup.period
    candidates = [i for i, c in enumerate(row.columns) if c is None or not c.change]
    if breakdown and item is not None:
        candidates = [i for i in candidates if row.columns[i] is not None and column_names(item, row.columns[i])]
    if not candidates:
        return None
    if period is None:
        return candidates[0]
    relative = _relative_column(row, candidates, period, e)
    if relative is not None:
        return relative
    matches = [i for i in candidates if period.matches(row.columns[i])]
    if len(matches) > 1 and item is not None:
        matches = [i for i in matches if column_names(item, row.columns[i])] or matches
    if len(matches) > 1 and not breakdown and _one_period(row, matches):
        # Every cell one period ("Networking Graphics All Other Consolidated" over "Nine Months
        # Ended October 29, 2023"): the columns are the parts and, printed last, their total.
        return matches[-1]
    if matches:
        # Two columns ending the same month with no stated length: quarter columns come first
        # in Indian result formats, year-to-date ones after them.
        return matches[-1] if period.months == 12 and len(matches) > 1 else matches[0]
    if all(row.columns[i] is None for i in candidates) and period.fiscal is not None:
        filed = period_from_label(e.fiscal_period) if e.fiscal_period else None
        if filed is not None and filed == period.fiscal:
            return candidates[0]  # an unlabelled current-period column of this period's own filing
    return None


def _one_period(row: Row, indexes: Sequence[int]) -> bool:
    """The columns are one period whose length (or balance date) the header states."""
    columns = [row.columns[i] for i in indexes]
    stated = [c for c in columns if c is not None and not c.assumed and c.end is not None
              and (c.months is not None or c.point)]
    return len(stated) == len(columns) and len({(c.end, c.months, c.point) for c in stated}) == 1


def _relative_column(row: Row, candidates: Sequence[int], period: Asked, e: Evidence) -> int | None:
    """A fiscal period named by the filer's label ("Q3 fiscal 2023", "the first nine months of
    fiscal 2024") read against the filing's own period: the filing's period is its statements'
    current column of that duration (the latest end), the same period a year before is the
    one after it. Calendars differ (Apple's third fiscal quarter ends in July, NVIDIA's fiscal
    2024 in January 2024), so the label, not a computed date, decides. None when the filing's
    period does not relate to the asked one or the columns do not say their lengths."""
    filed = period_from_label(e.fiscal_period) if e.fiscal_period else None
    if filed is None:
        return None
    back: int | None = None
    if period.fiscal is not None and period.fiscal.kind == filed.kind and period.fiscal.number == filed.number:
        back = filed.fiscal_year - period.fiscal.fiscal_year
    elif period.to_date is not None and filed.kind in ("Q", "H"):
        back = filed.fiscal_year - period.to_date
    if back not in (0, 1):
        return None
    months = period.months
    dated = [i for i in candidates if row.columns[i] is not None and row.columns[i].end is not None
             and not row.columns[i].assumed and row.columns[i].months == months]
    if not dated:
        return None
    ends = sorted({row.columns[i].end for i in dated}, reverse=True)  # type: ignore[union-attr]
    if back >= len(ends):
        return None
    # Of columns of that one period (the parts and, printed last, their total), the total.
    return [i for i in dated if row.columns[i].end == ends[back]][-1]  # type: ignore[union-attr]


# ---- one figure from a sentence -------------------------------------------------------------

_PERIOD_MENTION = re.compile(
    r"(?<![A-Za-z0-9])(?:[QH]\s?[1-4]\s?)?(?:FY|fiscal(?:\s+year)?|financial\s+year)\s?'?\d{2,4}"
    r"(?:\s?-\s?\d{2,4})?|(?<![\w-])(?:19|20)\d{2}\s?-\s?\d{2}(?![\w-])",
    re.IGNORECASE,
)
_DECLINE = re.compile(r"\b(fell|fall|decline[ds]?|decrease[ds]?|down|lower|drop(ped)?|contracted)\b",
                      re.IGNORECASE)
_COUNT_ITEMS = frozenset({"employees"})


def find_in_prose(lookup: Lookup, evidence: Sequence[Evidence], *, percent: bool = False) -> Figure | None:
    """A figure stated in a sentence: "Net profit for FY2024 was ₹79,020 crore, up 7.3%".

    The amount is the first after the item's mention (a percentage when `percent`, as for
    "grew 6.8%"; a count may come just before it: "181,269 employees"); when the sentence
    names several fiscal periods, the one written nearest the amount is its period."""
    best: tuple[float, Figure] | None = None
    period = lookup.period
    for e in evidence:
        if lookup.company is not None and e.company_symbol not in (None, lookup.company):
            continue
        filed = period_from_label(e.fiscal_period) if e.fiscal_period else None
        for sentence in sentences(e.text):
            if "|" in sentence:
                continue
            mention = _mention(lookup, sentence)
            if mention is None:
                continue
            named = [(m.start(), _label_of(m.group(0))) for m in _PERIOD_MENTION.finditer(sentence)]
            named = [(at, label) for at, label in named if label]
            for at, amount in _amounts_near(sentence, mention, count=lookup.item is not None
                                            and lookup.item.key in _COUNT_ITEMS):
                if (amount.kind == "percent") != percent:
                    continue
                label = _prose_period(period, named, at, percent, filed, e, sentence)
                if label is False:
                    continue
                value = amount.value
                if percent and _DECLINE.search(sentence[mention[0]:at]):
                    value = -value
                number = re.search(r"\d[\d,]*(?:\.\d+)?", amount.text)
                name = (answer_name(sentence[mention[0]:mention[1]]) if lookup.item is not None
                        else _terms_name(lookup.terms, sentence[mention[0]:mention[1]]))
                figure = Figure(
                    company=lookup.company or e.company_symbol, item=name, label=name, value=value,
                    text=amount.text, number=number.group(0) if number else amount.text,
                    period=label or "the period reported", period_label=label or None, scope=None,
                    evidence=e.index, percent=amount.kind == "percent", asked=period,
                )
                score = 1.0 + 0.3 * e.score - 0.002 * abs(at - mention[1])
                if best is None or score > best[0]:
                    best = (score, figure)
                break
    return best[1] if best else None


def _prose_period(period: Asked | None, named: list[tuple[int, str]], at: int, percent: bool,
                  filed, e: Evidence, sentence: str) -> str | bool | None:
    """The period label a prose amount belongs to, or False if not the asked one."""
    if period is not None and period.fiscal is None:
        # A dated span: the sentence (or its filing) must be about that date.
        month = date(2000, period.end_month or 1, 1).strftime("%B")
        if str(period.end_year) in sentence and (period.end_month is None or month[:3].lower() in sentence.lower()):
            return period.label
        if filed is not None and period.matches(Column(text="", end=filed.end, months=None, point=True)):
            return period.label
        return False
    if named:
        nearest = min(named, key=lambda n: abs(n[0] - at))[1]
        # A rate names its base period too ("4.7% over FY2023"): any mention of the asked
        # period will do; an amount belongs to the nearest one.
        labels = {n[1] for n in named} if percent else {nearest}
        if period is not None and period.label not in labels:
            return False
        return period.label if period is not None else nearest
    if period is not None and (filed is None or filed != period.fiscal):
        return False
    return period.label if period is not None else e.fiscal_period


def _mention(lookup: Lookup, sentence: str) -> tuple[int, int] | None:
    """Where the sentence names the line item (the longest mention), or None."""
    lowered = sentence.lower()
    spans: list[tuple[int, int]] = []
    item = lookup.item
    if item is not None:
        spans += [m.span() for m in item.asked.finditer(sentence)]
        spans += [m.span() for p in item.labels for m in p.finditer(lowered)]
        if item.exclude is not None:
            # "Unbilled revenue", "segment revenue": look just before the mention, and at it.
            spans = [s for s in spans if not item.exclude.search(lowered[max(0, s[0] - 12):s[1]])]
    elif lookup.terms:
        words = content_terms(sentence)
        if len(lookup.terms & words) / len(lookup.terms) >= 0.6:
            found = [(m.start(), m.end()) for m in re.finditer(r"[a-z]+", lowered)
                     if content_terms(m.group(0)) & lookup.terms]
            if found:
                spans.append((found[0][0], found[-1][1]))
    if not spans:
        return None
    return max(spans, key=lambda s: (s[1] - s[0], -s[0]))


# Verbs a sentence states a figure with ("we incurred charges totaling $607 million"): not
# part of what the figure is called.
_STATING_VERBS = frozenset(content_terms(
    "incur incurred spend spent pay paid earn earned record recorded report reported recognise "
    "recognised recognize recognized total totaled totalled totaling totalling amount amounted"
))


def _terms_name(terms: frozenset[str], span: str) -> str:
    """What a figure named by the question's own words is called: those words as the sentence
    writes them, in its order ("office space charges"), without the verb that states it."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", span)
             if (found := content_terms(w)) & terms and not found & _STATING_VERBS]
    return answer_name(" ".join(words)) if words else answer_name(span)


def _label_of(text: str) -> str | None:
    found = parse_periods(text, date(2000, 1, 1))
    return found[0].label if found else None


def _amounts_near(sentence: str, mention: tuple[int, int], *, count: bool,
                  window: int = 120) -> list[tuple[int, Amount]]:
    start = mention[1]
    tail = sentence[start:start + window]
    out = []
    cursor = 0
    for amount in amounts(tail):
        where = tail.find(amount.text.split()[0] if amount.text else "", cursor)
        where = where if where >= 0 else cursor
        cursor = where + 1
        out.append((start + where, amount))
    if count:  # "we had 181,269 employees"
        before = sentence[max(0, mention[0] - 25):mention[0]]
        found = amounts(before)
        if found:
            out.insert(0, (mention[0] - 1, found[-1]))
    return out
