"""A stricter reader of drafted sections, independent of the drafter's own scoring (bench only).

The drafter chooses sentences by shared words with a topic's hints, so judging "on topic" by
shared words (report_grounding.measure) mostly re-checks the drafter's own rule. This judge
reads the section as a reviewer would, with other tools:
- it segments every content line with pysbd (a rule-based sentence segmenter), so two
  sentences glued into one bullet count as two, and a stray "iv." counts as debris;
- a sentence is *filed right* when, of the section's topics, the one it stands under is the
  closest by all-MiniLM-L6-v2 cosine (topic text: "<section>: <topic>", no hint words);
- a sentence has an *artefact* when it carries a list enumerator (leading, trailing or
  mid-sentence: "iv.", "b)", "9."), a glued heading (three capitalised words in a row in
  upper case), or is a fragment (starts lower case, does not end as a sentence, unbalanced
  brackets);
- *debris*: pieces of under six words that are only enumerators or heading words;
- *duplicates*: pairs of sentences in one section with cosine >= 0.92.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_MARKER = re.compile(r"\[\^[^\]\s]+\]")
_ENUM = r"(?:\(?(?:[ivx]{1,5}|[a-hj-z]|\d{1,2})[.)])"
_LEADING_ENUM = re.compile(rf"^[-*•▪]?\s*{_ENUM}\s")
_TRAILING_ENUM = re.compile(rf"\s{_ENUM}\s*$")
_INNER_ENUM = re.compile(rf"[.;:,]\s+{_ENUM}\s+[A-Z(]")
_CAPS_RUN = re.compile(r"\b[A-Z][A-Z&/-]{2,}(?:\s+[A-Z][A-Z&/-]{2,}){2,}\b")
_ONLY_ENUM = re.compile(rf"^\s*(?:{_ENUM}\s*)+$")
_SILENT = "material says nothing"


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def artefacts(sentence: str) -> list[str]:
    """What is wrong with one sentence as a reader sees it (empty when nothing)."""
    text = _MARKER.sub("", sentence).strip().strip("*_").strip()
    found = []
    if _LEADING_ENUM.match(text) or _TRAILING_ENUM.search(text) or _INNER_ENUM.search(text):
        found.append("enumerator")
    if _CAPS_RUN.search(text):
        found.append("heading")
    first = text.lstrip("\"'“‘(")[:1]
    if (first.islower() or not text.rstrip("\"'”’)").endswith((".", "!", "?", ":", ";"))
            or not _balanced(text)):
        found.append("fragment")
    return found


@dataclass
class Judged:
    sentences: int = 0
    filed_right: int = 0
    with_artefact: int = 0
    enumerator: int = 0
    heading: int = 0
    fragment: int = 0
    debris: int = 0
    duplicates: int = 0
    clean_and_filed: int = 0  # neither artefact nor misfiled
    misfiled_examples: list[str] = field(default_factory=list)

    def add(self, other: Judged) -> None:
        for key in ("sentences", "filed_right", "with_artefact", "enumerator", "heading", "fragment",
                    "debris", "duplicates", "clean_and_filed"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.misfiled_examples += other.misfiled_examples

    def share(self, key: str) -> str:
        return f"{getattr(self, key) / self.sentences:.3f}" if self.sentences else "n/a"


class Judge:
    def __init__(self, embedder, segmenter) -> None:
        self._embedder = embedder  # a MiniLMEmbedder (embed_array: L2-normalised rows)
        self._segmenter = segmenter  # a pysbd.Segmenter

    def segment(self, line: str) -> list[str]:
        return [s.strip() for s in self._segmenter.segment(line) if s.strip()]

    def judge(self, section: str, markdown: str) -> Judged:
        topics: list[str] = []
        units: list[tuple[int, str]] = []  # (topic index, sentence)
        out = Judged()
        for line in markdown.splitlines():
            if line.startswith("[^"):
                break  # footnote definitions
            heading = re.match(r"^#{3,6}\s+(.+)$", line)
            if heading:
                topics.append(heading.group(1).strip())
                continue
            if not topics or not line.strip() or line.startswith(("#", ">")) or _SILENT in line:
                continue
            for sentence in self.segment(line.lstrip("-*+ ").strip()):
                plain = _MARKER.sub("", sentence).strip()
                words = plain.split()
                if len(words) < 6:
                    if _ONLY_ENUM.match(plain) or (words and all(w[:1].isupper() or not w.isalpha() for w in words)):
                        out.debris += 1
                    continue
                units.append((len(topics) - 1, plain))
        if not units:
            return out
        vectors = self._embedder.embed_array([f"{section}: {t}" for t in topics] + [u for _, u in units])
        topic_vectors, sentence_vectors = vectors[: len(topics)], vectors[len(topics):]
        similarity = sentence_vectors @ topic_vectors.T
        for row, (topic_index, sentence) in enumerate(units):
            out.sentences += 1
            right = int(np.argmax(similarity[row])) == topic_index
            out.filed_right += right
            if not right and len(out.misfiled_examples) < 3:
                best = topics[int(np.argmax(similarity[row]))]
                out.misfiled_examples.append(f"under '{topics[topic_index]}' (closest: '{best}'): {sentence[:110]}")
            problems = artefacts(sentence)
            out.with_artefact += bool(problems)
            for problem in problems:
                setattr(out, problem, getattr(out, problem) + 1)
            out.clean_and_filed += right and not problems
        pairs = sentence_vectors @ sentence_vectors.T
        out.duplicates = int(((pairs >= 0.92).sum() - len(units)) // 2)
        return out
