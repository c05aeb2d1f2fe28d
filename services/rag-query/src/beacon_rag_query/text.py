"""Text primitives shared by grading, the extractive answerer and the fact checker:
terms, sentences, citation markers and money amounts the way Indian filings write them."""

from __future__ import annotations

import re
from dataclasses import dataclass

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for from with without as is are was were be been
    being has have had do does did this that these those it its it's their there they them what
    which who whom whose when where why how than then so such into over under about between
    during per via vs versus not no can could would should will shall may might must also any all
    each other more most less much many some our we you your i me my us tell give show please
    explain describe according report reported reports company company's companies ltd limited
    year years""".split()
)

# Letters and digits split apart, so "FY2018" yields "fy" and "2018" and matches "2018".
_TERM = re.compile(r"[a-z]+|\d+(?:[.,]\d+)*")


def terms(text: str) -> list[str]:
    """Lower-cased terms, stop words dropped, plurals folded, digit groups joined."""
    out = []
    for token in _TERM.findall(text.lower()):
        if token[0].isdigit():
            token = token.replace(",", "").rstrip(".")
        elif token in STOPWORDS or len(token) < 2:
            continue
        else:
            token = _stem(token)
        out.append(token)
    return out


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_terms(text: str) -> set[str]:
    """Word terms only (numbers are checked separately, as values)."""
    return {t for t in terms(strip_markers(text)) if not t[0].isdigit()}


_MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def markers(text: str) -> list[int]:
    """Citation markers `[1]`, `[2, 3]` in order of appearance, without duplicates."""
    seen: list[int] = []
    for group in _MARKER.findall(text):
        for part in group.split(","):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


# Abbreviations usually followed by a capital or a figure; others ("Ltd. reported") are told
# apart by the lower-case word after them.
_ABBREVIATIONS = frozenset(
    "rs no nos mr mrs ms dr st vs approx fig figs e.g i.e viz pvt "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_BOUNDARY = re.compile(
    r"([.!?])((?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*)(\s+(?=[A-Z0-9₹\"'(\[$])|\s*$)"
)


def sentences(text: str) -> list[str]:
    """Split prose into sentences; markers written after a full stop stay with their sentence,
    abbreviations (Rs., Ltd., No.) and decimals do not end one. Blank lines, list items and
    table rows (lines with `|`, as the ingestion parser writes tables) always do."""
    out: list[str] = []
    for block in _blocks(text):
        start = 0
        for m in _BOUNDARY.finditer(block):
            before = block[start:m.start()]
            last_word = before.rsplit(None, 1)[-1].lower().lstrip("(") if before.strip() else ""
            if m.group(1) == "." and last_word.rstrip(".") in _ABBREVIATIONS:
                continue
            if m.group(1) == "." and len(last_word) == 1 and last_word.isalpha():
                continue  # an initial, as in "N. Chandrasekaran"
            end = m.end(2)
            piece = " ".join(block[start:end].split())
            if piece:
                out.append(piece)
            start = m.end()
        tail = " ".join(block[start:].split())
        if tail:
            out.append(tail)
    return [s for s in out if any(ch.isalnum() for ch in s)]


def _blocks(text: str) -> list[str]:
    blocks: list[str] = []
    prose: list[str] = []
    for line in text.split("\n"):
        if "|" in line:
            blocks.append("\n".join(prose))
            blocks.append(line)
            prose = []
        else:
            prose.append(line)
    blocks.append("\n".join(prose))
    return [b for part in blocks for b in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", part)]


# ---- numbers ---------------------------------------------------------------------------

UNITS = {
    "thousand": 1e3,
    "lakh": 1e5, "lakhs": 1e5, "lac": 1e5, "lacs": 1e5,
    "million": 1e6, "millions": 1e6, "mn": 1e6,
    "crore": 1e7, "crores": 1e7, "cr": 1e7,
    "billion": 1e9, "billions": 1e9, "bn": 1e9,
    "trillion": 1e12,
}
_UNIT_WORDS = "|".join(sorted(UNITS, key=len, reverse=True))
_NUMBER = re.compile(
    r"(?P<currency>₹|\brs\.?|\binr|\$|\busd)?\s*"
    r"(?<![\w,/-])(?<!\d\.)(?P<digits>\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w/-]|\.\d|,\d)"
    r"(?:\s*(?P<percent>%|per\s*cent\b|percent\b))?"
    rf"(?:\s*(?P<unit>(?:{_UNIT_WORDS})(?:\s+(?:crores?|cr))?)\b\.?)?",
    re.IGNORECASE,
)


# Month names as written, not any word they begin ("margin 36,413", "declined 12%").
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
_DAY_OF_MONTH = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Amount:
    """A number as written: its value in base units, and the precision it was written with."""

    value: float
    raw: float  # the digits alone, without the unit
    step: float  # the value of one unit in the last written digit
    raw_step: float
    kind: str  # "percent" or "value"
    has_unit: bool
    text: str


def amounts(text: str, *, skip_years: bool = True) -> list[Amount]:
    """Numbers a claim rests on. Calendar years and citation markers are not amounts."""
    # Days of the month ("March 31", "31st March") are dates, not figures.
    clean = _DAY_OF_MONTH.sub(" ", strip_markers(text))
    found = []
    for m in _NUMBER.finditer(clean):
        digits = m.group("digits")
        if digits == "000":
            continue  # "€000", "£'000": a column's unit (thousands), never a figure
        raw = float(digits.replace(",", ""))
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        unit = (m.group("unit") or "").lower()
        multiplier = 1.0
        for word in unit.replace(".", "").split():
            multiplier *= UNITS[word]
        is_percent = bool(m.group("percent"))
        if (
            skip_years and not (m.group("currency") or unit or is_percent or decimals or "," in digits)
            and 1900 <= raw <= 2100
        ):
            continue
        raw_step = 10.0 ** -decimals
        found.append(Amount(
            value=raw * multiplier, raw=raw, step=raw_step * multiplier, raw_step=raw_step,
            kind="percent" if is_percent else "value", has_unit=bool(unit),
            text=m.group(0).strip().rstrip("."),
        ))
    return found


def same_amount(claim: Amount, evidence: Amount) -> bool:
    """Equal at the coarser of the two precisions: "₹9.75 lakh crore" is "₹9,74,864 crore".
    A unit-less figure in the evidence (a table "in ₹ crore") may match on its digits."""
    if claim.kind != evidence.kind:
        return False
    tolerance = max(claim.step, evidence.step) / 2 * 1.0001
    if abs(claim.value - evidence.value) <= tolerance:
        return True
    if not evidence.has_unit:
        raw_tolerance = max(claim.raw_step, evidence.raw_step) / 2 * 1.0001
        return abs(claim.raw - evidence.raw) <= raw_tolerance
    return False


def format_inr(value: float) -> str:
    """Rupees as filings write large sums: `₹2,58,027 crore`, small ones in plain rupees."""
    if abs(value) >= 1e7:
        return f"₹{indian_grouping(round(value / 1e7))} crore"
    return f"₹{indian_grouping(round(value))}"


def indian_grouping(number: int) -> str:
    sign, digits = ("-" if number < 0 else ""), str(abs(number))
    if len(digits) <= 3:
        return sign + digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join(groups + [tail])
