"""Sections grounded in the customer's material: passages, sentences, footnotes, checks. Pure.

A draft cites passages as Markdown footnotes, `[^n]` with n the passage's number in the
prompt. `settle_footnotes` then checks every footnote against the passages sent (unknown ones
are removed and flagged), checks every figure of a cited sentence against its passages (one
found nowhere, and not derived from two of them, is flagged), renumbers the footnotes in order
of appearance and writes their definitions, which name the document and the page.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import pysbd

from beacon_report_writer.domain import parse_heading

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[]?[A-Z0-9₹$€£])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*|\d[\d,.]*")
_MARKER = re.compile(r"\[\^([^\]\s]+)\]")
_DEFINITION = re.compile(r"^\[\^([^\]\s]+)\]:\s?(.*)$")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:[₹$€£]\s?)?\d[\d,]*(?:\.\d+)?\s?%?")
_DOCUMENT_REF = re.compile(r"\(document (\d+)\)")
_PAGE_REF = re.compile(r"\bpage (\d+)\b")
_STOP = frozenset("""a an and are as at be been but by can could do does for from had has have how
if in into is it its may might more most no not of on or our should so such than that
the their them then there these they this those to under up upon was we were what when where which
while who will with within would you your all any each other per via also only same out over""".split())
_SOURCE_CHARS = 1500  # a citation's source_text: the cited passage, up to this long
# Numbers that are list ordinals or page numbers say nothing checkable.
_TRIVIAL_NUMBERS = frozenset({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"})


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as the prompt numbers it (`n`)."""

    n: int
    document_id: int
    document_title: str
    page_number: int
    text: str
    topic: str = ""
    offer: bool = False
    chunk: int | None = None  # the chunk's place in its document, to join a sentence cut between two

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.document_id, self.chunk)

    def as_task(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_task(cls, data: dict[str, Any]) -> Passage:
        return cls(**data)


def terms(text: str) -> set[str]:
    """Content words, lower case, crude singular: what two texts must share to be related."""
    out = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOP or len(word) < 3 or word[0].isdigit():
            continue
        # "logs" and "log" are one term; "access" and "acces" are too, harmlessly.
        out.add(word[:-1] if word.endswith("s") and len(word) > 3 else word)
    return out


def sentence_terms(text: str) -> set[str]:
    """A sentence's terms and the parts of its hyphenated words: "password-protected" is
    about passwords. (Topic terms keep their compounds whole: "sign-on" is not "sign".)"""
    out = terms(text)
    for word in [w for w in out if "-" in w]:
        out |= terms(word.replace("-", " "))
    return out


_NUMBERED_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+\S")


def _is_heading_line(line: str) -> bool:
    """A line that titles what follows ("2. Functional requirements", "Security and
    Compliance"): short, no closing punctuation, numbered or mostly capitalised."""
    words = line.split()
    if not words or len(words) > 10 or line.rstrip()[-1] in ".!?;:,":
        return False
    if _NUMBERED_HEADING.match(line):
        return True
    long_words = [w for w in words if len(w) > 3]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)


def _paragraphs(text: str) -> list[str]:
    """Lines joined back into paragraphs, a heading line standing on its own."""
    out: list[str] = []
    heading_before = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            heading_before = True
            continue
        heading = _is_heading_line(line)
        if heading or heading_before or not out:
            out.append(line)
        else:
            out[-1] += " " + line
        heading_before = heading
    return out


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # Built on first use (its rules compile once); pysbd knows abbreviations, decimals and
    # "e.g." that a punctuation regex splits on.
    return pysbd.Segmenter(language="en", clean=False)


# List enumerators that PDF text keeps inline: "iv.", "(b)", "9.", "2.1", "A." and bullets.
_ENUMERATOR = r"\(?(?:[ivxlc]{1,5}|[a-zA-Z]|\d{1,2}(?:\.\d{1,2})*)[.)]"
# Bullets: the usual ones, and the private-use glyphs of symbol fonts (Wingdings' bullet is
# U+F0B7, its arrows and boxes U+F0A7, U+F0D8 ...) that PDF text extraction keeps.
_BULLET = "•▪◦●■□►▶➢➤✓✔❖\ue000-\uf8ff"  # and "-" or "*" followed by a space
_GLYPH_BULLET = re.compile(r"\s*[\ue000-\uf8ff]+\s*")
_LEADING_ENUMERATOR = re.compile(rf"^(?:[-*]\s+|[{_BULLET}]\s*|{_ENUMERATOR}\s+|\d{{1,2}}(?:\.\d{{1,2}})+\s+(?=[A-Z]))")
_TRAILING_ENUMERATOR = re.compile(rf"(?<=[.;:!?])\s+{_ENUMERATOR}$")
_INNER_ENUMERATOR = re.compile(rf"(?<=[.;:])\s+(?:{_ENUMERATOR}|\d{{1,2}}(?:\.\d{{1,2}})+)\s+(?=[A-Z(])")
_ONLY_ENUMERATOR = re.compile(rf"{_ENUMERATOR}|[-*{_BULLET}]+")
_CAPS_HEADING = re.compile(r"^(?:[A-Z][A-Z&/,-]+\s+){2,}(?=[A-Z][a-z])")  # "SCOPE OF WORK The ..."


@lru_cache(maxsize=4096)
def _cached_sentences(text: str) -> tuple[str, ...]:
    out: list[str] = []
    # A symbol-font bullet inside a paragraph starts a list item: the items are apart.
    items = [item for paragraph in _paragraphs(text) for item in _GLYPH_BULLET.split(paragraph)]
    for paragraph in items:
        flat = " ".join(paragraph.split())
        if not flat:
            continue
        # Our own Markdown (a draft being refined) has regular sentence ends, and pysbd
        # would cut a footnote marker off the sentence it belongs to.
        pieces = _SENTENCE_END.split(flat) if _MARKER.search(flat) else _segmenter().segment(flat)
        for piece in pieces:
            for item in _INNER_ENUMERATOR.split(_TRAILING_ENUMERATOR.sub("", piece.strip())):
                cleaned = _without_enumerators(item)
                if cleaned and not _ONLY_ENUMERATOR.fullmatch(cleaned):
                    out.append(cleaned)
    return tuple(out)


def _without_enumerators(piece: str) -> str:
    piece = piece.strip()
    while (stripped := _LEADING_ENUMERATOR.sub("", piece, count=1)) != piece:
        piece = stripped.strip()
    return _CAPS_HEADING.sub("", piece).strip()


def sentences(text: str) -> list[str]:
    """The sentences of a passage (pysbd), without bullets, list enumerators or a glued
    capitalised heading, joined across line breaks but not across a heading."""
    return list(_cached_sentences(text))


def is_statement(sentence: str) -> bool:
    """A sentence worth quoting: a whole sentence (starts with a capital or a figure, ends
    as a sentence, brackets balanced), long enough, with words, not a heading or a table row,
    not the lead-in of a list ("... the following:")."""
    words = sentence.split()
    if len(words) < 6 or len(sentence) > 500 or sentence.count("|") > 1:
        return False
    first = sentence.lstrip("\"'“‘(")[:1]
    if not (first.isupper() or first.isdigit() or first in "₹$€£"):
        return False
    if not sentence.rstrip("\"'”’)").endswith((".", "!", "?", ";")):
        return False  # cut at a chunk or page boundary, or a lead-in ending in ":"
    if sentence.count("(") != sentence.count(")") or sentence.count("[") != sentence.count("]"):
        return False
    letters = sum(c.isalpha() for c in sentence)
    return letters >= 0.5 * len(sentence) and any(c.islower() for c in sentence)


def similar(a: str, b: str) -> bool:
    ta, tb = terms(a), terms(b)
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    return len(ta & tb) / len(ta | tb) >= 0.6


# --- extractive selection ------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    sentence: str
    passage: Passage
    position: int  # the sentence's place in its passage, for reading order
    score: float
    also: Passage | None = None  # the next chunk, where a sentence cut between two goes on

    @property
    def cited(self) -> list[Passage]:
        return [self.passage] + ([self.also] if self.also else [])


def _unfinished(sentence: str) -> bool:
    return not sentence.rstrip("\"'”’)").endswith((".", "!", "?", ";", ":"))


def joined_sentence(passage: Passage, following: Passage) -> str | None:
    """The sentence a chunk boundary cut in two: the end of `passage` that is no whole
    sentence, followed by the start of the next chunk of the same document, when the next
    chunk does not open with a heading (then the cut was no cut). None when it is no
    quotable sentence."""
    if passage.chunk is None or following.key != (passage.document_id, passage.chunk + 1):
        return None
    if not _unfinished(passage.text.rstrip()):
        return None  # most chunks end a sentence: said without segmenting both texts
    tail, head = sentences(passage.text), sentences(following.text)
    if not tail or not head or not _unfinished(tail[-1]):
        return None
    first_line = next((line.strip() for line in following.text.splitlines() if line.strip()), "")
    if _is_heading_line(first_line):
        return None
    whole = _segmenter().segment(tail[-1] + " " + following.text.split("\n\n")[0].replace("\n", " "))
    sentence = _without_enumerators(" ".join(whole[0].split())) if whole else ""
    # The join must reach past the cut into the next chunk and end there as a sentence.
    return sentence if len(sentence) > len(tail[-1]) + 3 and is_statement(sentence) else None


MIN_COVERAGE = 0.28  # shared topic terms / sqrt(the sentence's terms): one word in about 12


def candidates(topic_terms: set[str], passages: list[Passage],
               neighbours: list[Passage] | None = None, *, floor: float = MIN_COVERAGE) -> list[Pick]:
    """Every quotable sentence of `passages` that covers the topic, scored; a sentence cut
    at the end of a passage is joined with the next chunk when that chunk is among
    `neighbours` (the section's passages) and cites both, and one that opens a passage
    inside a sentence with the chunk before. `floor`: the coverage below which a sentence is
    left out (assign_sentences takes every sentence and applies it to the topic a sentence is
    filed under). (Counting a term common in the
    material at half weight was tried: bench/results/report.md, fewer sentences and fewer
    filed right.)"""
    by_key = {p.key: p for p in (neighbours or passages) if p.chunk is not None}
    found = []
    for rank, passage in enumerate(passages):
        pieces: list[tuple[str, Passage, Passage | None]] = [(s, passage, None) for s in sentences(passage.text)]
        following = by_key.get((passage.document_id, passage.chunk + 1)) if passage.chunk is not None else None
        if pieces and following is not None and (joined := joined_sentence(passage, following)):
            pieces[-1] = (joined, passage, following)
        # A passage that opens inside a sentence: the sentence starts in the chunk before.
        before = by_key.get((passage.document_id, passage.chunk - 1)) if passage.chunk is not None else None
        if pieces and before is not None and (joined := joined_sentence(before, passage)):
            pieces[0] = (joined, before, passage)
        for position, (sentence, cited, also) in enumerate(pieces):
            if not is_statement(sentence):
                continue
            coverage = _coverage(sentence, topic_terms)
            # One topic word lost in a long sentence ("... beyond the provider's control"
            # under identity and access) is chance, not coverage.
            if coverage < floor:
                continue
            score = coverage + 0.3 / (rank + 1)
            found.append(Pick(sentence, cited, position, score, also))
    return found


def _choose(picks: list[Pick], taken: list[str], limit: int) -> list[Pick]:
    chosen: list[Pick] = []
    for pick in sorted(picks, key=lambda p: -p.score):
        if len(chosen) >= limit:
            break
        if any(similar(pick.sentence, other) for other in [*taken, *(c.sentence for c in chosen)]):
            continue
        chosen.append(pick)
    return sorted(chosen, key=lambda p: (p.passage.document_id, p.passage.page_number, p.passage.n,
                                         p.position))


def pick_sentences(topic_terms: set[str], passages: list[Passage], taken: list[str], *,
                   limit: int = 4) -> list[Pick]:
    """The sentences of `passages` that best cover a topic (sharing at least one of its
    terms), none like one already `taken`, in the material's reading order."""
    return _choose(candidates(topic_terms, passages), taken, limit)


FILING_MARGIN = 1.25  # a sentence's best topic must beat the next by this factor
HINT_WEIGHT = 0.3  # a hint word ("incident" for audit) is weaker evidence than the topic's own


def fit(sentence: str, topic_terms: set[str], name_terms: set[str]) -> float:
    """How well a sentence matches a topic: its shared terms, the topic's own words at full
    weight and its hint words at HINT_WEIGHT, over sqrt(the sentence's terms)."""
    matched, size = _profile(sentence)
    weight = sum(1.0 if term in name_terms else HINT_WEIGHT for term in matched & topic_terms)
    return weight / math.sqrt(size or 1)


@lru_cache(maxsize=8192)
def _profile(sentence: str) -> tuple[frozenset[str], int]:
    """(sentence_terms, how many own terms): read for every topic of a section, so once."""
    return frozenset(sentence_terms(sentence)), len(terms(sentence))


def assign_sentences(topics: list[tuple[set[str], list[Passage]]], taken: list[str], *,
                     limit: int = 4, names: list[str] | None = None,
                     neighbours: list[Passage] | None = None) -> list[list[Pick]]:
    """Sentences for several topics at once: each sentence any topic retrieved is filed
    under the topic of the section it matches best (`fit`, by the topic's words and hints),
    not under the topic whose search found it. When other topics fit it almost as well
    (the best below FILING_MARGIN times theirs) the words cannot place it: it goes to the
    one of those topics whose own search found it, and is left out when several or none
    did. Then each topic keeps its best `limit`; a topic left empty may take back a
    sentence that uses a word of its `names` entry. A
    sentence cut at a passage's end goes on in the next chunk among `neighbours` (default:
    every topic's passages)."""
    section = neighbours or list({p.n: p for _, passages in topics for p in passages}.values())
    # Every quotable sentence of the section's passages, whichever topic's search found it:
    # the floor is applied to the topic it is filed under.
    per_topic = [candidates(words, passages, section, floor=0.0) for words, passages in topics]
    name_terms = [terms(name) for name in names] if names else [words for words, _ in topics]
    # Each sentence once, with the best retrieval it had (the rank bonus of its best topic).
    pool: dict[str, tuple[Pick, int]] = {}
    for index, picks in enumerate(per_topic):
        for pick in picks:
            key = _key(pick.sentence)
            if key not in pool or pick.score > pool[key][0].score:
                pool[key] = (pick, index)
    by_topic = [{_key(p.sentence): p for p in picks} for picks in per_topic]
    filed: list[list[Pick]] = [[] for _ in topics]
    for pick, found_by in pool.values():
        fits = [fit(pick.sentence, topic_words, name_terms[i]) for i, (topic_words, _) in enumerate(topics)]
        # Ties go to the topic that retrieved it.
        home = max(range(len(topics)), key=lambda i: (fits[i], i == found_by))
        if _coverage(pick.sentence, topics[home][0]) < MIN_COVERAGE:
            continue
        key = _key(pick.sentence)
        # Sentences that fit two topics about as well were filed right barely a third of the
        # time (bench/results/report.md): the words cannot place them. When only one of
        # those topics' own searches found the sentence, that search placed it; otherwise
        # it stays out (a topic it names may still take it back, _fill_empty_topics).
        close = [i for i, f in enumerate(fits) if f > 0 and f * FILING_MARGIN > fits[home]]
        if len(close) > 1:
            found = [i for i in close if key in by_topic[i]]
            if len(found) != 1:
                continue
            home = found[0]
            if _coverage(pick.sentence, topics[home][0]) < MIN_COVERAGE:
                continue
        # The rank bonus of the home topic's own search, when it found the sentence too.
        retrieved = by_topic[home].get(key)
        bonus = _rank_bonus(retrieved, topics[home][0]) if retrieved else 0.0
        filed[home].append(Pick(pick.sentence, pick.passage, pick.position, fits[home] + bonus, pick.also))
    chosen: list[list[Pick]] = []
    used = list(taken)
    for mine in filed:
        selected = _choose(mine, used, limit)
        used.extend(p.sentence for p in selected)
        chosen.append(selected)
    if not names:
        return chosen
    covering = [[p for p in picks if _coverage(p.sentence, topics[i][0]) >= MIN_COVERAGE]
                for i, picks in enumerate(per_topic)]
    return _fill_empty_topics(covering, chosen, names)


def _rank_bonus(pick: Pick, topic_terms: set[str]) -> float:
    """What a pick's score owes to the rank of its passage in its topic's search."""
    return pick.score - _coverage(pick.sentence, topic_terms)


def _coverage(sentence: str, topic_terms: set[str]) -> float:
    """Shared terms (`sentence_terms`) over sqrt(the sentence's own `terms`)."""
    matched, size = _profile(sentence)
    return len(matched & topic_terms) / math.sqrt(size or 1)


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _fill_empty_topics(per_topic: list[list[Pick]], chosen: list[list[Pick]],
                       names: list[str]) -> list[list[Pick]]:
    """A topic left with nothing takes back its best sentence naming it ("Audit logs ..."
    for audit and monitoring) from a topic that has others, or that no topic quotes (left
    out as fitting two topics about as well): a section must not say the
    material is silent on a topic while it quotes the material on it under another heading.
    A sentence sharing only a hint word ("support" for tooling) is no such sentence."""
    for index, picks in enumerate(chosen):
        if picks:
            continue
        named = terms(names[index])
        for candidate in sorted(per_topic[index], key=lambda p: -p.score):
            if not terms(candidate.sentence) & named:
                continue
            key = _key(candidate.sentence)
            holders = [i for i, other in enumerate(chosen) if any(_key(p.sentence) == key for p in other)]
            if not holders:  # left out as ambiguous between topics: this one it names
                chosen[index] = [candidate]
                break
            owner = next((i for i in holders if i != index and len(chosen[i]) > 1), None)
            if owner is not None:
                chosen[owner] = [p for p in chosen[owner] if _key(p.sentence) != key]
                chosen[index] = [candidate]
                break
    return chosen


# --- footnotes -----------------------------------------------------------------------------


@dataclass
class Settled:
    markdown: str
    citations: list[dict[str, Any]]
    flags: list[str]


def strip_definitions(markdown: str) -> tuple[str, dict[str, str]]:
    """The markdown without footnote definitions, and the definitions by label."""
    kept, definitions = [], {}
    for line in markdown.splitlines():
        match = _DEFINITION.match(line.strip())
        if match:
            definitions[match.group(1)] = match.group(2).strip()
        else:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n", definitions


def settle_footnotes(markdown: str, passages: list[Passage], *, check_numbers: bool = True) -> Settled:
    """Check, renumber and define the footnotes of a draft that cites `passages` by number."""
    body, _ = strip_definitions(markdown)
    by_n = {str(p.n): p for p in passages}
    flags: list[str] = []
    unknown = sorted({m.group(1) for m in _MARKER.finditer(body) if m.group(1) not in by_n})
    if unknown:
        flags.append("removed footnote(s) citing no passage sent: " + ", ".join(f"[^{u}]" for u in unknown))
    body = _MARKER.sub(lambda m: m.group(0) if m.group(1) in by_n else "", body)
    if check_numbers:
        body, unsupported = _flag_unsupported_numbers(body, by_n)
        flags.extend(unsupported)
    order: dict[str, int] = {}
    for match in _MARKER.finditer(body):
        order.setdefault(match.group(1), len(order) + 1)
    body = _MARKER.sub(lambda m: f"[^{order[m.group(1)]}]", body)
    citations = []
    lines = []
    for label, index in order.items():
        passage = by_n[label]
        source = " ".join(passage.text.split())
        if len(source) > _SOURCE_CHARS:
            source = source[:_SOURCE_CHARS - 1].rstrip() + "…"
        citations.append({"index": index, "document_id": passage.document_id,
                          "document_title": passage.document_title,
                          "page_number": passage.page_number, "source_text": source})
        best = _source_text(body, index, passage)
        quote = best if len(best) <= 160 else best[:157].rstrip() + "…"
        lines.append(f"[^{index}]: {passage.document_title or 'Untitled document'}, page "
                     f"{passage.page_number} (document {passage.document_id}): \"{quote}\"")
    markdown = body.rstrip() + "\n"
    if lines:
        markdown += "\n" + "\n".join(lines) + "\n"
    return Settled(markdown, citations, flags)


def _citing_sentences(body: str, index: int) -> list[str]:
    marker = f"[^{index}]"
    return [s for line in body.splitlines() for s in sentences(line) if marker in s]


def _source_text(body: str, index: int, passage: Passage) -> str:
    """The passage's sentence closest to what cites it (the passage itself when short)."""
    candidates = sentences(passage.text) or [passage.text]
    citing = terms(" ".join(_citing_sentences(body, index)))
    best = max(candidates, key=lambda s: len(terms(s) & citing))
    return best.strip()


def _flag_unsupported_numbers(body: str, by_n: dict[str, Passage]) -> tuple[str, list[str]]:
    """A figure in a cited sentence must appear in one of its passages, or be the sum,
    difference, product or ratio of two figures there; otherwise the sentence is marked."""
    flags: list[str] = []
    out_lines = []
    every_figure = {f for p in by_n.values() for f in figures(p.text)}
    for line in body.splitlines():
        if parse_heading(line) or line.lstrip().startswith(">"):
            out_lines.append(line)
            continue
        pieces = []
        for sentence in _split_keep(line):
            labels = [m.group(1) for m in _MARKER.finditer(sentence)]
            cited = [by_n[label] for label in labels if label in by_n]
            allowed = {f for p in cited for f in figures(p.text)} if cited else every_figure
            missing = [raw for raw, value in figure_tokens(_MARKER.sub("", sentence))
                       if value not in allowed and not _derived(value, allowed)]
            if missing and (cited or every_figure):
                flags.append(f"figure(s) {', '.join(missing)} not found in the cited material: "
                             f"\"{_MARKER.sub('', sentence).strip()[:120]}\"")
                sentence = sentence.rstrip() + " _(unverified figure: check against the material)_"
            pieces.append(sentence)
        out_lines.append(" ".join(pieces) if pieces else line)
    return "\n".join(out_lines), flags


def _split_keep(line: str) -> list[str]:
    if not line.strip():
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    parts = _SENTENCE_END.split(line.strip())
    return [lead + parts[0], *parts[1:]] if parts else [line]


def figure_tokens(text: str) -> list[tuple[str, float]]:
    """(as written, value) for each figure worth checking (not 1-10, not years as ordinals)."""
    out = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0).strip()
        digits = re.sub(r"[^\d.\-]", "", raw.replace(",", ""))
        if not digits or digits in _TRIVIAL_NUMBERS or digits in ("-", "."):
            continue
        try:
            out.append((raw, float(digits)))
        except ValueError:
            continue
    return out


def figures(text: str) -> set[float]:
    return {value for _, value in figure_tokens(text)} | {
        float(d) for d in re.findall(r"\d+", text) if len(d) <= 12}


def _derived(value: float, allowed: set[float]) -> bool:
    values = [v for v in allowed if v]
    if len(values) > 60:
        return False
    for a in values:
        for b in values:
            for candidate in (a + b, a - b, a * b, a / b, a / b * 100):
                if candidate and abs(candidate - value) <= 0.005 * max(abs(value), 1):
                    return True
    return False


# --- consistency across a session ----------------------------------------------------------

_FIGURE_WITH_WORD = re.compile(
    r"(?P<number>[₹$€£]?\d[\d,]*(?:\.\d+)?)\s?(?P<unit>%|percent|per cent)?\s+(?P<word>[a-z][a-z-]{3,})",
    re.IGNORECASE)
_WORD_WITH_FIGURE = re.compile(
    r"(?P<word>[a-z][a-z-]{3,})\s+(?:of|is|at|to|:|=|was|be)?\s*(?P<number>[₹$€£]?\d[\d,]*(?:\.\d+)?)\s?(?P<unit>%)?",
    re.IGNORECASE)


def keyed_figures(markdown: str) -> dict[str, set[str]]:
    """Figures with the word they measure ("99.9% uptime", "uptime of 99.5%")."""
    body, _ = strip_definitions(markdown)
    body = _MARKER.sub("", body)
    found: dict[str, set[str]] = {}
    for pattern in (_FIGURE_WITH_WORD, _WORD_WITH_FIGURE):
        for match in pattern.finditer(body):
            word = match.group("word").lower()
            if word in _STOP or word in ("page", "section", "document", "phase", "step", "item", "year", "years"):
                continue
            number = match.group("number").replace(",", "")
            if number in _TRIVIAL_NUMBERS or re.fullmatch(r"(19|20)\d\d", number):
                continue
            unit = "%" if match.group("unit") else ""
            found.setdefault(word[:-1] if word.endswith("s") and len(word) > 4 else word, set()).add(number + unit)
    return found


def figure_conflicts(title: str, markdown: str, earlier: dict[str, str]) -> list[str]:
    """Figures of this section that another section of the session states differently."""
    mine = keyed_figures(markdown)
    conflicts = []
    for other, text in earlier.items():
        if other == title:
            continue
        for word, values in keyed_figures(text).items():
            if word in mine and not (mine[word] & values):
                conflicts.append(
                    f"figures disagree on '{word}': {', '.join(sorted(mine[word]))} here, "
                    f"{', '.join(sorted(values))} in {other}")
    return conflicts


def footnote_refs(definition: str) -> tuple[int | None, int | None]:
    """(document id, page) named by a footnote definition this module wrote."""
    document = _DOCUMENT_REF.search(definition)
    page = _PAGE_REF.search(definition)
    return (int(document.group(1)) if document else None, int(page.group(1)) if page else None)


def markers(text: str) -> list[str]:
    return [m.group(1) for m in _MARKER.finditer(text)]


def without_markers(text: str) -> str:
    return _MARKER.sub("", text)
