"""PDF to pages of blocks (text lines and tables), page by page, never hanging.

pypdf runs in a child process (`python -m beacon_ingestion.pipeline.parse_worker`) that writes one JSON
line per page; the parent kills it when a page takes longer than `page_timeout_s` or the whole document longer
than `document_timeout_s`. Encrypted (with a password), corrupt, image-only and empty PDFs
fail with a clear message (PermanentStageError).

Tables: pypdf's layout mode keeps horizontal positions, so a table row is a line whose cells
are separated by runs of 2+ spaces. Two or more consecutive such lines with the same number of
cells, at least one holding a number, form a table whose first line is the header. Each row
then travels with its column headers, so "Net profit | FY2024: 79,020" survives chunking.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import io
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
_SPACES = re.compile(r"\s+")


class ParseError(PermanentStageError):
    pass


@dataclass
class Page:
    number: int
    blocks: list[dict[str, Any]] = field(default_factory=list)

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
        return {"number": self.number, "blocks": self.blocks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Page:
        return cls(number=data["number"], blocks=data["blocks"])


# ---------------------------------------------------------------- layout text -> blocks


def blocks_from_layout(text: str) -> list[dict[str, Any]]:
    rows: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        cells = [c.strip() for c in _CELL_SPLIT.split(line) if c.strip()]
        rows.append((line, cells))
    blocks: list[dict[str, Any]] = []
    i = 0
    while i < len(rows):
        j = i
        width = len(rows[i][1])
        while j < len(rows) and width >= 2 and len(rows[j][1]) == width:
            j += 1
        run = rows[i:j]
        if len(run) >= 2 and any(_NUMERIC.match(c) for _, cells in run[1:] for c in cells):
            blocks.append({"kind": "table", "header": run[0][1], "rows": [cells for _, cells in run[1:]]})
            i = j
            continue
        line = _SPACES.sub(" ", rows[i][0])
        if blocks and blocks[-1]["kind"] == "text":
            blocks[-1]["lines"].append(line)
        else:
            blocks.append({"kind": "text", "lines": [line]})
        i += 1
    return blocks


# ---------------------------------------------------------------- the child process


def parse_stream(data: bytes, emit: Callable[[list[Any]], None], max_pages: int) -> None:
    """Runs in the child: emits ["meta", n], ["page", number, blocks]..., ["done", images]
    or ["error", message]."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF-"):
        return emit(["error", "not a PDF (no %PDF- header)"])
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - unsupported algorithm, missing crypto
                return emit(["error", f"encrypted PDF: cannot decrypt ({exc})"])
            if not unlocked:
                return emit(["error", "encrypted PDF: a password is required"])
        count = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return emit(["error", f"corrupt PDF: {exc}"])
    if count == 0:
        return emit(["error", "PDF has no pages"])
    if count > max_pages:
        return emit(["error", f"PDF has {count} pages, more than the limit of {max_pages}"])
    emit(["meta", count])
    images = 0
    for index in range(count):
        try:
            page = reader.pages[index]
            try:
                text = page.extract_text(extraction_mode="layout")
            except Exception:  # noqa: BLE001 - layout mode is stricter: fall back to plain
                text = page.extract_text()
            if not text.strip():
                try:
                    images += len(page.images)
                except Exception:  # noqa: BLE001 - an unreadable image is still an image
                    images += 1
        except Exception as exc:  # noqa: BLE001 - one broken page breaks the document
            return emit(["error", f"corrupt PDF: page {index + 1}: {exc}"])
        emit(["page", index + 1, blocks_from_layout(text)])
    emit(["done", images])
    return None


class _Children:
    """Warm parser children: each has imported pypdf and waits for one document on stdin, so a
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
        await asyncio.wait_for(asyncio.to_thread(_send, process, header, data), page_timeout_s)
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
                pages.append(Page(number=message[1], blocks=message[2]))
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
    """Raw pypdf text extraction, page by page, in-process (benchmark baseline)."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
