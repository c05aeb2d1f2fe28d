"""PDF to pages of blocks (text lines and tables), page by page, never hanging.

PDFium (pypdfium2, Apache-2.0/BSD) runs in a child process
(`python -m beacon_ingestion.pipeline.parse_worker`) that writes one JSON line per page; the
parent kills it when a page takes longer than `page_timeout_s` or the whole document longer
than `document_timeout_s`. PDFium reads RC4- and AES-encrypted PDFs that open with an empty
password itself (no `cryptography`); PDFs that need a password, corrupt, image-only and empty
PDFs fail with a clear message (PermanentStageError). Measured on 361 pages of a real annual
report (bench/results/ingestion.md): 10x faster than pypdf's layout mode, with the same text.

Tables: PDFium gives the page's lines in reading order, one statement row per line
("Revenue From Operations 23 8,59,362.73 8,81,235.45"), but not the column gaps. A row is a
label followed by numbers; a run of such rows under a header line that names periods
("Particulars Note No. 2024-25 2023-24", "March 31, 2025 March 31, 2024") is a table, its
values aligned to the header's periods from the right (a leading extra number is the note).
Lines with 2+ space gaps (layout text) split into cells at the gaps. Each row then travels with
its column headers, so "Net profit | FY2024: 79,020" survives chunking.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from beacon_ingestion.pipeline.errors import PermanentStageError

_CELL_SPLIT = re.compile(r"\s{2,}")
_NUMERIC = re.compile(r"^[-+(]?[₹$]?\s?\d[\d,]*(\.\d+)?%?\)?$")
_NUMBER = r"[-+]?[₹$€£]?(?:\d{1,3}(?:,\d{2,3})+|\d+)(?:\.\d+)?"
_VALUE = re.compile(rf"^(?:\({_NUMBER}\)|{_NUMBER})%?$|^[-–—]$")
_CURRENCY_TOKENS = frozenset({"$", "₹", "€", "£", "US$", "Rs", "Rs."})
_HEADER_CURRENCIES = frozenset({"$", "€", "£", "US$"})  # the signs rag-query reads off a column header
_BARE_INTEGER = re.compile(r"^\d{1,4}$")  # a page number, a note number
_SPACES = re.compile(r"\s+")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_PERIOD = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}},?\s+(?:19|20)\d{{2}}\b"  # March 31, 2025
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?:19|20)\d{{2}}\b"  # 31 March 2025
    r"|\b\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}\b"  # 31.03.2025
    r"|\b(?:Q[1-4]|H[12]|9M)\s?FY\s?'?\d{2}(?:\d{2})?\b"  # Q3FY25, H1 FY24
    r"|\bFY\s?'?(?:19|20)?\d{2}(?:\s?-\s?(?:19|20)?\d{2})?\b"  # FY2024, FY 2023-24, FY'24
    r"|\b(?:Q[1-4]|H[12])\s?(?:19|20)\d{2}\b"  # Q2 2023
    r"|\b(?:19|20)\d{2}(?:\s?-\s?(?:19|20)?\d{2})?\b",  # 2024-25, 2024
    re.IGNORECASE,
)
_QUALIFIER = re.compile(
    r"(?:(?:for\s+the\s+)?(?:years?|quarters?|half[\s-]years?|periods?|(?:three|six|nine|twelve)\s+months)"
    r"\s+ended(?:\s+on)?|as\s+(?:at|on)|(?:un)?audited)\s*$", re.IGNORECASE)
_CHANGE_COLUMN = re.compile(r"^\s*((?:%\s*)?(?:change|growth|yoy|y-o-y|var\w*|inc\w*/?\s*\(?dec\w*\)?)"
                            r"\s*(?:%|\(%\))?)\s*$", re.IGNORECASE)
_NOTE = re.compile(r"\bnotes?(\s+no\.?)?\b", re.IGNORECASE)
_ENUMERATED = re.compile(r"^\(?(?:[a-z]|[ivx]+|\d{1,2})[).]\s", re.IGNORECASE)  # a) i) (ii) 3.
_TABLE_LOOKAHEAD = 3  # label-only lines (groups, wrapped labels) allowed between rows
_STATEMENT = re.compile(
    r"balance\s+sheet|statements?\s+of\s+(?:consolidated\s+|standalone\s+)?(?:profit\s+(?:and|&)\s+loss"
    r"|financial\s+position|(?:comprehensive\s+)?income|operations|cash\s+flows?|changes\s+in\s+equity)"
    r"|(?:profit\s+(?:and|&)\s+loss|income|cash\s+flow)\s+statement"
    r"|statements?\s+of\s+(?:consolidated\s+)?profit\s+or\s+loss"  # IFRS wording
    r"|(?:audited|unaudited)?\s*(?:consolidated|standalone)?\s*financial\s+results",
    re.IGNORECASE)
# A column's unit printed as a heading of its own: "€000", "£'000", "$'000", "€m", "US$m", "$".
_SCALED_UNIT = re.compile(r"['’]?000|m|bn", re.IGNORECASE)  # "€000", "£'000", "€m": not a bare "$"
_UNIT_HEADING = re.compile(r"^(?:US|A|C)?[$€£]\s?(?:['’]?000|m|bn)?$|^\((?:US|A|C)?[$€£]\s?['’]?000\)$",
                           re.IGNORECASE)
_SCOPE_OR_UNIT = re.compile(r"^(consolidated|standalone)\b|\bin\s+(crore|lakh|million|billion|thousand)s?\b",
                            re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d{2}")
_TITLE_PERIOD = re.compile(r"^(?:for\s+the\s+)?(?:years?|periods?|quarters?|half[\s-]years?|"
                           r"(?:three|six|nine|twelve)\s+months)\s+ended\b|^as\s+(?:at|of|on)\b", re.IGNORECASE)
# The pieces of a column heading set one per line ("As at", "31 December", "2022", "€000").
_STACKED_PIECE = re.compile(
    rf"^(?:(?:as\s+(?:at|of|on)|at|(?:for\s+the\s+)?(?:years?|periods?)\s+ended|notes?|restated|audited|"
    rf"unaudited|group|company|consolidated|parent|{_MONTH}|\d{{1,2}}(?:st|nd|rd|th)?|(?:19|20)\d{{2}}|"
    r"(?:US|A|C)?[$€£](?:['’]?000|m|bn)?|['’]?000)[\s,]*)+$",
    re.IGNORECASE)
_STACKED_MAX = 12  # lines a stacked heading may span


class ParseError(PermanentStageError):
    pass


@dataclass
class Page:
    number: int
    blocks: list[dict[str, Any]] = field(default_factory=list)
    title: str | None = None  # a financial statement's title, scope and unit, read off its top lines

    @property
    def char_count(self) -> int:
        total = 0
        for block in self.blocks:
            if block["kind"] == "text":
                total += sum(len(line) for line in block["lines"])
            else:
                total += sum(len(c) for row in [block["header"], *block["rows"]] for c in row)
        return total

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"number": self.number, "blocks": self.blocks}
        if self.title:
            data["title"] = self.title
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Page:
        return cls(number=data["number"], blocks=data["blocks"], title=data.get("title"))


# ---------------------------------------------------------------- page text -> blocks


@dataclass(frozen=True)
class _Header:
    first: str  # the label column's own heading ("Particulars")
    columns: list[str]
    notes: bool  # a "Note No." column sits between the label and the periods


def _header(line: str) -> _Header | None:
    """A line naming two or more periods (or one and a change column) after a label. A few
    words may name each column with its period ("Segment Revenue FY2024 EBITDA FY2024")."""
    matches = list(_PERIOD.finditer(line))
    if not matches:
        return None
    gaps = [line[a.end():b.start()].strip() for a, b in zip(matches, matches[1:], strict=False)]
    named = [g for g in gaps if g and not _QUALIFIER.fullmatch(g)]
    if any(not _column_words(g) for g in named):
        return None  # words between the periods: a sentence, not a header
    cut = matches[0].start()
    qualifier = _QUALIFIER.search(line[:cut])
    start = qualifier.start() if qualifier else cut
    if named and qualifier is None:
        # The first column is named like the others: as many words before its period.
        words = line[:cut].split()
        width = len(named[0].split())
        if len(words) > width:
            start = len(line[:cut].rstrip()) - len(" ".join(words[-width:]))
    columns, cursor = [], start
    for match in matches:
        columns.append(_SPACES.sub(" ", line[cursor:match.end()]).strip())
        cursor = match.end()
    rest = line[cursor:]
    if rest.strip():
        change = _CHANGE_COLUMN.match(rest)
        if change is None:
            return None
        columns.append(change.group(1).strip())
    if len(columns) < 2:
        return None
    label = line[:start].strip()
    if len(label) > 60 or _VALUE.match(label.split()[-1] if label else "x"):
        return None
    notes = bool(_NOTE.search(label))
    first = _NOTE.sub("", label).strip(" ,.|") or "Particulars"
    return _Header(first, columns, notes)


_FUNCTION_WORDS = frozenset({"and", "or", "in", "the", "to", "from", "was", "were", "is", "are", "of",
                             "by", "with", "for", "at", "on", "than", "as", "its", "their", "a", "an"})


def _column_words(text: str) -> bool:
    """A column's own name: at most three words, none of them the glue of a sentence."""
    words = text.split()
    return (len(words) <= 3 and not any(w.lower() in _FUNCTION_WORDS for w in words)
            and not any(ch in text for ch in ".;:!?"))


def _row(line: str) -> tuple[str, list[str]] | None:
    """`label value value...`: the trailing run of numbers (a dash is a nil value)."""
    tokens = line.split()
    values: list[str] = []
    while tokens and (_VALUE.match(tokens[-1]) or tokens[-1] in _CURRENCY_TOKENS):
        token = tokens.pop()
        if token not in _CURRENCY_TOKENS:  # "$ 391,035": the sign stands apart from its figure
            values.insert(0, token)
    if not any(any(ch.isdigit() for ch in v) for v in values):
        return None
    return " ".join(tokens), values


def _layout_cells(line: str) -> list[str]:
    return [c.strip() for c in _CELL_SPLIT.split(line.strip()) if c.strip()]


def _aligned(values: list[str], header: _Header, label: str) -> tuple[str, list[str]]:
    width = len(header.columns)
    extra = len(values) - width
    if extra > 0:
        lead, values = values[:extra], values[extra:]
        if header.notes and extra == 1:
            label = f"{label} (Note {lead[0]})" if label else f"Note {lead[0]}"
        else:
            label = " ".join([label, *lead]).strip()
    return label, [""] * (width - len(values)) + values


def _table(lines: list[str], start: int, header: _Header) -> tuple[dict[str, Any], int] | None:
    """Rows under the header at `start`; returns the block and the index after its last row."""
    rows: list[list[str]] = []
    pending: list[str] = []
    group = ""
    currency: str | None = None
    end = start + 1
    i = start + 1
    if i < len(lines) and (unit := _unit_line(lines[i])):
        header = _with_unit(header, unit)
        i += 1
    while i < len(lines):
        line = lines[i]
        if _header(line):
            break
        parsed = _row(line)
        if parsed is None:
            if len(pending) >= _TABLE_LOOKAHEAD or len(line) > 120:
                break
            pending.append(line.strip())
            i += 1
            continue
        label, values = parsed
        if not label and len(values) == 1 and _BARE_INTEGER.match(values[0]):
            break  # a page number below the table
        if label.endswith(":") and len(values) == 1 and _BARE_INTEGER.match(values[0]):
            label, values = f"{label} (Note {values[0]})", []  # a heading with its note number
        if not values:
            pending.append(label)
            i += 1
            continue
        wrapped = not label or (label[:1].islower() and not _ENUMERATED.match(label))
        if pending and wrapped and not pending[-1].endswith(":"):
            label = " ".join([*pending, label]).strip()  # a label wrapped over lines
            pending = []
        for heading in pending:
            rows.append([heading])
            if not _ENUMERATED.match(heading):
                group = heading.rstrip(": ")  # "Current Assets", not "b) Financial Assets"
        pending = []
        if not label:
            label = f"Total {group}".strip()
        label, cells = _aligned(values, header, label)
        rows.append([label, *cells])
        currency = currency or next((t for t in line.split() if t in _HEADER_CURRENCIES), None)
        i += 1
        end = i
    if sum(1 for r in rows if len(r) > 1) < 2:
        return None
    if currency and not any("(" in c for c in header.columns):
        # "$ 18,120": the sign stands apart from its figure and is dropped from the cell, so
        # the columns say it ("2023 ($)"), as they say an IFRS unit heading ("2022 (€000)").
        header = _with_unit(header, currency)
    return {"kind": "table", "header": [header.first, *header.columns], "rows": rows}, end


def _layout_table(rows: list[list[str]], start: int) -> tuple[dict[str, Any], int] | None:
    """Layout text: 2+ consecutive lines with the same number of 2+ space separated cells."""
    width = len(rows[start])
    j = start
    while j < len(rows) and width >= 2 and len(rows[j]) == width:
        j += 1
    run = rows[start:j]
    if len(run) >= 2 and any(_NUMERIC.match(c) for cells in run[1:] for c in cells):
        return {"kind": "table", "header": run[0], "rows": run[1:]}, j
    return None


def _with_unit(header: _Header, unit: str | None) -> _Header:
    """Each column says its unit ("2022 (€000)"): a chunk of rows cut below the heading that
    printed it still knows its figures are thousands of euros."""
    if not unit:
        return header
    return _Header(header.first, [f"{c} ({unit.strip('()')})" for c in header.columns], header.notes)


def _unit_line(line: str) -> str | None:
    """A line of unit headings only, one per column ("£'000 £'000"): their unit."""
    words = line.split()
    return words[0] if words and all(_UNIT_HEADING.match(w) for w in words) and words[0] != "$" else None


def _stacked_header(lines: list[str], start: int) -> tuple[_Header, str | None, int] | None:
    """Column headings PDFium gives one piece per line, as a grid sets them in IFRS annual
    reports ("Notes", "2022", "€000", "2021", "€000"): joined back into one header line. Returns
    the header, the unit heading ("€000") if one was printed, and the index after the pieces."""
    if _TITLE_PERIOD.match(lines[start]) and _YEAR.search(lines[start]):
        return None  # "As at 30 June 2022": the statement's own date under its title
    end = start
    while end < len(lines) and end - start < _STACKED_MAX and len(lines[end]) <= 30 \
            and _STACKED_PIECE.match(lines[end]):
        end += 1
    pieces = lines[start:end]
    if len(pieces) < 3:
        return None
    units = [w for p in pieces for w in p.split() if _UNIT_HEADING.match(w)]
    words = [w for p in pieces for w in p.split() if not _UNIT_HEADING.match(w)]
    notes = any(_NOTE.fullmatch(w) for w in words)
    if not notes and not any(_SCALED_UNIT.search(u) for u in units):
        # Dates (and a bare "$") on short lines are a US header's own layout, read elsewhere;
        # an IFRS grid names a notes column or a scaled unit ("€000").
        return None
    joined = " ".join(w for w in words if not _NOTE.fullmatch(w))
    header = _header(("Notes " if notes else "Particulars ") + joined)
    if header is None or len(list(_PERIOD.finditer(joined))) < 2:
        return None
    return header, (units[0] if units else None), end


def blocks_from_lines(text: str) -> list[dict[str, Any]]:
    lines = [_SPACES.sub(" ", raw).strip() if not _CELL_SPLIT.search(raw.strip()) else raw.strip()
             for raw in text.splitlines() if raw.strip()]
    cells = [_layout_cells(line) for line in lines]
    flat = [_SPACES.sub(" ", line) for line in lines]
    blocks: list[dict[str, Any]] = []
    i = 0
    while i < len(lines):
        found = _layout_table(cells, i)
        if found is None:
            header = _header(flat[i])
            found = _table(flat, i, header) if header else None
        if found is None and (stacked := _stacked_header(flat, i)) is not None:
            header, unit, after = stacked
            table = _table([flat[i], *flat[after:]], 0, _with_unit(header, unit))
            if table is not None:
                if unit:  # also in the page's text, where a statement's title picks it up
                    blocks.append({"kind": "text", "lines": [unit]})
                found = (table[0], after + table[1] - 1)
        if found is not None:
            blocks.append(found[0])
            i = found[1]
            continue
        if blocks and blocks[-1]["kind"] == "text":
            blocks[-1]["lines"].append(flat[i])
        else:
            blocks.append({"kind": "text", "lines": [flat[i]]})
        i += 1
    return blocks


blocks_from_layout = blocks_from_lines  # layout text (2+ space gaps) is one of the shapes it reads


# A title line as a statement page opens with it: "CONDENSED CONSOLIDATED BALANCE SHEETS
# (Unaudited)", "Consolidated Statement of Changes in Equity"; not a sentence that names one.
_TITLE_LINE = re.compile(
    r"^(?:(?:condensed|consolidated|standalone|unaudited|audited|interim|group|company|parent)\s+)*"
    r"(?:statements?\s+of\b|balance\s+sheets?\b|income\s+statements?\b|financial\s+results\b).{0,60}$",
    re.IGNORECASE)
_FIGURES = re.compile(r"\d[\d,]*(?:\.\d+)?")
_FIGURE_LINES = 8  # lines with two figures or more: a statement's rows, not a page of prose


def _untabled_statement(blocks: list[dict[str, Any]]) -> bool:
    lines = [line for b in blocks if b["kind"] == "text" for line in b["lines"]]
    return (any(_TITLE_LINE.match(line) for line in lines[:5])
            and sum(len(_FIGURES.findall(line)) >= 2 for line in lines) >= _FIGURE_LINES)


def statement_title(blocks: list[dict[str, Any]]) -> str | None:
    """A financial statement page's title ("Consolidated Financial Statements - Statement of
    Profit and Loss for the Year Ended March 31, 2025 - (J in crore)"), from the text lines
    above its first table, when the page has a table and one of those lines names a statement.
    A page whose rows PDFium gives as plain lines (a US 10-Q's, its header years on lines of
    their own) counts when it opens with a statement's own title and is mostly figures."""
    if not any(b["kind"] == "table" for b in blocks) and not _untabled_statement(blocks):
        return None
    top: list[str] = []
    for block in blocks:
        if block["kind"] == "table":
            break
        top.extend(block["lines"])
    top = top[:8]
    named = [i for i, line in enumerate(top) if _STATEMENT.search(line) and len(line) <= 160]
    if not named:
        return None
    keep = [line for i, line in enumerate(top)
            if i == named[0] or (abs(i - named[0]) <= 2 and _SCOPE_OR_UNIT.search(line) and len(line) <= 160)
            or (0 < i - named[0] <= 2 and _TITLE_PERIOD.match(line) and len(line) <= 80
                and _YEAR.search(line))  # "for the year ended 30 June 2022"
            or (i > named[0] and _UNIT_HEADING.match(line))]  # "€000" set above the columns
    return " - ".join(keep)


# ---------------------------------------------------------------- the child process


def parse_stream(data: bytes, emit: Callable[[list[Any]], None], max_pages: int) -> None:
    """Runs in the child: emits ["meta", n], ["page", number, blocks, title]..., ["done", images]
    or ["error", message]."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if not data.lstrip()[:1024].startswith(b"%PDF-"):
        return emit(["error", "not a PDF (no %PDF- header)"])
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            return emit(["error", "encrypted PDF: a password is required"])
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_SECURITY:
            return emit(["error", "encrypted PDF: unsupported security handler"])
        return emit(["error", f"corrupt PDF: {exc}"])
    count = len(document)
    if count == 0:
        return emit(["error", "PDF has no pages"])
    if count > max_pages:
        return emit(["error", f"PDF has {count} pages, more than the limit of {max_pages}"])
    emit(["meta", count])
    images = 0
    for index in range(count):
        try:
            page = document[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            if not text.strip():
                images += sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
            textpage.close()
            page.close()
        except Exception as exc:  # noqa: BLE001 - one broken page breaks the document
            return emit(["error", f"corrupt PDF: page {index + 1}: {exc}"])
        blocks = blocks_from_lines(text)
        emit(["page", index + 1, blocks, statement_title(blocks)])
    document.close()
    emit(["done", images])
    return None


class _Children:
    """Warm parser children: each has imported pypdfium2 and waits for one document on stdin, so a
    document does not wait for an interpreter to boot (about 0.4 s here). Plain `Popen`
    (not asyncio's) so they outlive event loops; an idle child exits when its parent does
    (its stdin closes)."""

    def __init__(self, spares: int = 2) -> None:
        self._spares: collections.deque[subprocess.Popen] = collections.deque()
        self._target = spares
        self._lock = threading.Lock()
        atexit.register(self.close)

    @staticmethod
    def _spawn() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "beacon_ingestion.pipeline.parse_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def take(self) -> subprocess.Popen:
        with self._lock:
            process = None
            while self._spares and process is None:
                candidate = self._spares.popleft()
                if candidate.poll() is None:
                    process = candidate
            while len(self._spares) < self._target:
                self._spares.append(self._spawn())
        return process or self._spawn()

    def prewarm(self) -> None:
        with self._lock:
            while len(self._spares) < self._target:
                self._spares.append(self._spawn())

    def close(self) -> None:
        with self._lock:
            while self._spares:
                _kill(self._spares.popleft())


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


_CHILDREN = _Children()


def prewarm_parsers() -> None:
    """Start the spare parser children now (service start-up), not with the first document."""
    _CHILDREN.prewarm()


def _send(process: subprocess.Popen, header: bytes, data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(header)
        process.stdin.write(data)
        process.stdin.close()
    except BrokenPipeError:
        pass  # the child died; reading its output reports it


async def parse_pdf(
    data: bytes,
    *,
    page_timeout_s: float = 20.0,
    document_timeout_s: float = 600.0,
    max_pages: int = 3000,
    on_page: Callable[[int, int], None] | None = None,
) -> list[Page]:
    """Parse in a child process (`python -m beacon_ingestion.pipeline.parse_worker`), killed on
    overrun. Raises ParseError for bad documents, RuntimeError if the child crashed."""
    process = await asyncio.to_thread(_CHILDREN.take)
    started = time.monotonic()
    pages: list[Page] = []
    total = 0
    images = 0
    try:
        assert process.stdout is not None
        header = f"{max_pages} {len(data)}\n".encode()
        try:
            await asyncio.wait_for(asyncio.to_thread(_send, process, header, data), page_timeout_s)
        except TimeoutError:
            # A child that does not take the document in time is as stuck as one that does
            # not answer: a parse failure, not a transient error for the bus to retry.
            raise ParseError(f"parsing timed out sending the document (limit {page_timeout_s:.0f}s)") from None
        while True:
            budget = min(page_timeout_s, document_timeout_s - (time.monotonic() - started))
            if budget <= 0:
                raise ParseError(f"parsing took longer than {document_timeout_s:.0f}s")
            try:
                # On time-out the reading thread ends when the child is killed below.
                line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), budget)
            except TimeoutError:
                where = f"page {len(pages) + 1}" if total else "opening the document"
                raise ParseError(f"parsing timed out at {where} (limit {budget:.0f}s)") from None
            if not line:
                code = await asyncio.to_thread(process.wait)
                raise RuntimeError(f"parser process ended early (exit code {code})")
            message = json.loads(line)
            kind = message[0]
            if kind == "error":
                raise ParseError(message[1])
            if kind == "meta":
                total = message[1]
                if on_page is not None:
                    on_page(0, total)  # the document opened: that is progress too
            elif kind == "page":
                pages.append(Page(number=message[1], blocks=message[2], title=message[3]))
                if on_page is not None:
                    on_page(message[1], total)
            elif kind == "done":
                images = message[1]
                break
    finally:
        await asyncio.to_thread(_kill, process)
    if sum(page.char_count for page in pages) == 0:
        if images:
            raise ParseError("image-only PDF: no text layer (scanned?); OCR is not supported")
        raise ParseError("PDF has no extractable text")
    return pages


def extract_plain_text(data: bytes) -> list[str]:
    """PDFium's text, page by page, in-process: extraction alone (benchmark)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()
