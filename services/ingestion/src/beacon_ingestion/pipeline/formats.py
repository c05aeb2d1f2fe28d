"""Customer material that is not a PDF: DOCX, Markdown and plain text, to the same pages of
blocks the PDF parser gives (parsing.py), so chunking and indexing are shared.

Pages: a DOCX page ends at an explicit page break or at the break Word recorded when it last
laid the document out (`w:lastRenderedPageBreak`); a text page ends at a form feed. Without
either, the whole document is page 1.

A DOCX is a zip archive written by someone we do not know. It is read with hard limits
before anything is inflated in full: at most `MAX_ENTRIES` entries, `word/document.xml` at
most `max_xml_bytes` once inflated (read in bounded pieces, so a lying header does not
matter) and at most `MAX_RATIO` times its compressed size (a zip bomb fails here, its
document only), and no DTD (no entity expansion).
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from beacon_ingestion.pipeline.chunking import ChunkDraft, chunk_pages
from beacon_ingestion.pipeline.errors import PermanentStageError
from beacon_ingestion.pipeline.parsing import Page

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CONTENT_TYPES = (PDF, DOCX, MARKDOWN, TEXT)

MAX_ENTRIES = 2000
MAX_RATIO = 200
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_MD_NOISE = re.compile(r"(\*\*|__|`|^\s*[-*+]\s+|^\s*\d+[.)]\s+|^\s*>\s?)")


class UnsupportedFormat(ValueError):
    pass


def detect_content_type(data: bytes, filename: str | None) -> str:
    """PDF and DOCX by their bytes; Markdown or text when the bytes are UTF-8 text (the file
    name tells which). Anything else is refused."""
    name = (filename or "").lower()
    if data.lstrip()[:1024].startswith(b"%PDF-"):
        return PDF
    if data[:4] == b"PK\x03\x04":
        if name.endswith((".docx", ".docm")) or not name:
            return DOCX
        raise UnsupportedFormat("zip archives other than .docx are not supported")
    if b"\x00" in data[:4096]:
        raise UnsupportedFormat("binary file: send a PDF, DOCX, Markdown or plain-text file")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedFormat("text files must be UTF-8") from None
    return MARKDOWN if name.endswith((".md", ".markdown")) else TEXT


def parse_material(data: bytes, content_type: str, *, max_xml_bytes: int = 50 * 1024 * 1024) -> list[Page]:
    """Pages of a DOCX, Markdown or text file; PermanentStageError for a bad one."""
    if content_type == DOCX:
        pages = _docx_pages(data, max_xml_bytes)
    elif content_type in (MARKDOWN, TEXT):
        pages = _text_pages(data.decode("utf-8-sig", errors="replace"), markdown=content_type == MARKDOWN)
    else:
        raise PermanentStageError(f"unsupported content type {content_type}")
    if sum(page.char_count for page in pages) == 0:
        raise PermanentStageError("the document has no text")
    return pages


def _page(number: int, lines: list[str]) -> Page:
    lines = [" ".join(line.split()) for line in lines]
    lines = [line for line in lines if line]
    return Page(number=number, blocks=[{"kind": "text", "lines": lines}] if lines else [])


def _text_pages(text: str, *, markdown: bool) -> list[Page]:
    pages = []
    for number, chunk in enumerate(text.split("\f"), start=1):
        lines = []
        for line in chunk.splitlines():
            if markdown:
                heading = _MD_HEADING.match(line)
                line = heading.group("text") if heading else _MD_NOISE.sub("", line)
            lines.append(line)
        pages.append(_page(number, lines))
    return pages


def _docx_xml(data: bytes, max_xml_bytes: int) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise PermanentStageError(f"corrupt DOCX: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise PermanentStageError(f"DOCX refused: {len(entries)} entries (limit {MAX_ENTRIES})")
        info = next((e for e in entries if e.filename == "word/document.xml"), None)
        if info is None:
            raise PermanentStageError("corrupt DOCX: no word/document.xml")
        limit = min(max_xml_bytes, max(info.compress_size, 1) * MAX_RATIO)
        out = bytearray()
        try:
            with archive.open(info) as stream:
                while piece := stream.read(1024 * 1024):
                    out.extend(piece)
                    if len(out) > limit:
                        raise PermanentStageError(
                            "DOCX refused: word/document.xml inflates beyond "
                            f"{limit} bytes (a zip bomb?)")
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            raise PermanentStageError(f"corrupt DOCX: {exc}") from None
        return bytes(out)


def _docx_pages(data: bytes, max_xml_bytes: int) -> list[Page]:
    xml = _docx_xml(data, max_xml_bytes)
    if b"<!DOCTYPE" in xml[:4096].upper() or b"<!ENTITY" in xml.upper():
        raise PermanentStageError("DOCX refused: document.xml declares a DTD")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise PermanentStageError(f"corrupt DOCX: {exc}") from None
    body = root.find(f"{_W}body")
    if body is None:
        raise PermanentStageError("corrupt DOCX: no document body")
    pages: list[Page] = []
    lines: list[str] = []

    def new_page() -> None:
        pages.append(_page(len(pages) + 1, lines))
        lines.clear()

    for block in body:
        if block.tag == f"{_W}p":
            _paragraph(block, lines, new_page)
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = ["".join(t.text or "" for t in cell.iter(f"{_W}t")).strip()
                         for cell in row.iter(f"{_W}tc")]
                if any(cells):
                    lines.append(" | ".join(cells))
    new_page()
    return pages


def _paragraph(paragraph: ElementTree.Element, lines: list[str], new_page) -> None:
    text: list[str] = []
    for node in paragraph.iter():
        if node.tag == f"{_W}t":
            text.append(node.text or "")
        elif node.tag == f"{_W}tab":
            text.append(" ")
        elif node.tag == f"{_W}lastRenderedPageBreak" or (
                node.tag == f"{_W}br" and node.get(f"{_W}type") == "page"):
            if text:
                lines.append("".join(text))
                text = []
            if lines:
                new_page()
    if text:
        lines.append("".join(text))


def chunk_by_page(pages: list[Page], *, target_chars: int, max_chars: int) -> list[ChunkDraft]:
    """Chunks that never span a page, so a footnote names the page its sentence is on."""
    drafts: list[ChunkDraft] = []
    for page in pages:
        drafts.extend(chunk_pages([page], target_chars=target_chars, max_chars=max_chars))
    return drafts
