"""Pages of blocks to chunks that know their pages, section heading and document.

- A heading (short line: numbered like "2.1 Revenue", ALL CAPS, or Title Case without a final
  full stop) closes the current chunk and becomes the section of the following ones.
- Text accumulates across lines until `target_chars`; it is split at a sentence end, never
  above `max_chars`. A chunk never crosses a page break, so the page a citation gives is the
  page its quoted text is on (a sentence running over a page break is cut there).
- A financial statement page (parsing's `Page.title`: "Consolidated Financial Statements -
  Balance Sheet as at March 31, 2025 - (₹ in crore)") puts that title at the head of every
  chunk of the page and uses it as their section, so a row chunk keeps its statement, scope
  and unit.
- A table becomes its own chunks: one line per row, each cell labelled with its column header
  ("Net profit | FY2024: 79,020 | FY2023: 73,670"), rows grouped up to `target_chars`.
- Running headers and footers (the same line at the top or bottom of most pages, digits
  ignored) and bare page numbers are dropped.
- Point ids are UUIDs derived from the document's bytes (sha256), the chunk's position and
  its text, so indexing the same bytes again overwrites the same points.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from beacon_ingestion.pipeline.parsing import Page

POINT_NAMESPACE = uuid.UUID("8a7d3c52-4f0e-4b7e-9a51-2f6c1d0b9e11")
_NUMBERED = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+\S")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9₹(\"'])")
_FIGURE = re.compile(r"^\(?[-+]?[₹$]?\d[\d,]*(\.\d+)?\)?%?$")
_SMALL_WORDS = {"and", "or", "of", "the", "in", "on", "for", "to", "a", "an", "at", "by", "with", "&", "vs"}


@dataclass(frozen=True)
class ChunkDraft:
    page_start: int
    page_end: int
    section: str | None
    text: str


def is_heading(line: str) -> bool:
    text = line.strip()
    if not 3 <= len(text) <= 90 or text.endswith((".", ",", ";")) or not text[0].isalnum():
        return False
    words = text.split()
    if len(words) > 12 or not any(c.isalpha() for c in text):
        return False
    if sum(1 for w in words if _FIGURE.match(w)) >= 2:
        return False  # "Retail 22,750 6,370": a statement row, not a heading
    if _NUMBERED.match(text) and text[-1].isalpha() or (_NUMBERED.match(text) and text[-1] in ":)"):
        return True
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters):
        return True
    significant = [w for w in words if w.lower() not in _SMALL_WORDS and w[0].isalpha()]
    return (len(words) >= 2 and bool(significant)
            and all(w[0].isupper() for w in significant) and not text.endswith(":"))


def table_lines(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = []
    for row in rows:
        label, values = row[0], row[1:]
        cells = [f"{h}: {v}" for h, v in zip(header[1:], values, strict=False) if v]
        lines.append(" | ".join([f"{header[0]}: {label}" if not cells else label, *cells]))
    return lines


class _Builder:
    def __init__(self, target: int, maximum: int) -> None:
        self.target, self.maximum = target, maximum
        self.drafts: list[ChunkDraft] = []
        self.section: str | None = None
        self.parts: list[str] = []
        self.size = 0
        self.first_page = 0
        self.last_page = 0

    def add(self, text: str, page: int, separator: str = " ") -> None:
        if not self.parts:
            self.first_page = page
        elif self.size + len(text) > self.maximum:
            self.flush()
            self.first_page = page
        self.parts.append(text if not self.parts else separator + text)
        self.size += len(text) + 1
        self.last_page = page
        if self.size >= self.target:
            self._split_at_sentence()

    def _split_at_sentence(self) -> None:
        text = "".join(self.parts)
        cut = None
        for match in _SENTENCE_END.finditer(text):
            if match.start() >= self.target * 0.6:
                cut = match.start()
                break
        if cut is None:
            if len(text) < self.maximum:
                return
            cut = text.rfind(" ", 0, self.maximum) if " " in text[: self.maximum] else self.maximum
        head, tail = text[:cut].strip(), text[cut:].strip()
        self.drafts.append(ChunkDraft(self.first_page, self.last_page, self.section, head))
        self.parts = [tail] if tail else []
        self.size = len(tail)
        self.first_page = self.last_page

    def flush(self) -> None:
        text = "".join(self.parts).strip()
        if text:
            self.drafts.append(ChunkDraft(self.first_page, self.last_page, self.section, text))
        self.parts, self.size = [], 0


_PAGE_NUMBER = re.compile(r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE)
# A year on a line of its own is a column header's ("July 1," / "2023"), not a page number.
_YEAR_LINE = re.compile(r"^(?:19|20)\d{2}$")
_DIGITS = re.compile(r"\d+")


def _edge_lines(page: Page) -> list[str]:
    lines = [line for block in page.blocks if block["kind"] == "text" for line in block["lines"]]
    return [*lines[:1], *lines[-1:]]


def boilerplate_lines(pages: list[Page]) -> set[str]:
    """Running headers and footers: lines (digits ignored) at the top or bottom of at least
    half of the pages, on two pages or more."""
    if len(pages) < 2:
        return set()
    counts: dict[str, int] = {}
    for page in pages:
        for key in {_DIGITS.sub("#", line.strip().lower()) for line in _edge_lines(page)}:
            counts[key] = counts.get(key, 0) + 1
    needed = max(2, (len(pages) + 1) // 2)
    return {key for key, count in counts.items() if count >= needed}


def chunk_pages(pages: list[Page], *, target_chars: int = 1200, max_chars: int = 2000) -> list[ChunkDraft]:
    builder = _Builder(target_chars, max_chars)
    repeated = boilerplate_lines(pages)

    def noise(line: str) -> bool:
        text = line.strip()
        if _YEAR_LINE.match(text):
            return False
        return bool(_PAGE_NUMBER.match(text)) or _DIGITS.sub("#", text.lower()) in repeated

    for page in pages:
        builder.flush()
        first = len(builder.drafts)
        title_lines = set(page.title.split(" - ")) if page.title else set()
        for block in page.blocks:
            if block["kind"] == "table":
                builder.flush()
                for line in table_lines(block["header"], block["rows"]):
                    builder.add(line, page.number, separator="\n")
                builder.flush()
                continue
            for line in block["lines"]:
                if noise(line) or line.strip() in title_lines:
                    continue
                if is_heading(line):
                    builder.flush()
                    builder.section = line.strip()[:200]
                    builder.add(line.strip(), page.number)
                    continue
                builder.add(line, page.number)
        builder.flush()
        if page.title:
            builder.drafts[first:] = [_titled(d, page.title) for d in builder.drafts[first:]]
    return [d for d in builder.drafts if not _heading_only(d)]


def _titled(draft: ChunkDraft, title: str) -> ChunkDraft:
    return ChunkDraft(draft.page_start, draft.page_end, title, f"{title}\n{draft.text}")


def _heading_only(draft: ChunkDraft) -> bool:
    return draft.section is not None and draft.text == draft.section


def point_id(sha256: str, index: int, text: str) -> str:
    digest = hashlib.sha1(text.encode()).hexdigest()
    return str(uuid.uuid5(POINT_NAMESPACE, f"{sha256}:{index}:{digest}"))
