"""Generation behind the ChatModel port: the prompt, and the offline extractive answerer.

The prompt carries the text a real model reads and, in `task`, the structured evidence the
`ExtractiveAnswerer` composes from, so both adapters take the same input.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from beacon_rag_query.domain import Evidence
from beacon_rag_query.text import amounts, content_terms, sentences
from beacon_rag_query.vocabulary import coverage
from beacon_runtime.llm.port import ChatModel, Completion, Prompt

EXTRACTIVE_LABEL = (
    "This is an extractive answer: the sentences below are quoted from the filings, "
    "without a language model."
)
NOT_FOUND = "I could not find this in the indexed filings."
RELATIVE_CUTOFF = 0.7

SYSTEM = (
    "You are a financial research assistant for companies in India's Nifty 50 index. "
    "Answer only from the numbered passages. After every sentence that uses a passage, cite it "
    "as [n]. Copy figures exactly as the passages write them (₹, crore, lakh, %). "
    "If the passages do not contain the answer, say so in one sentence. Be concise: at most "
    "five sentences, no preamble."
)


def answer_prompt(
    question: str,
    evidence: Sequence[Evidence],
    focus: Sequence[str] = (),
    terms: Sequence[str] | None = None,
) -> Prompt:
    """`focus`: period spellings a good sentence mentions; `terms`: the question's words
    that must be matched (without the company and period words, which every filtered
    passage contains anyway)."""
    blocks = []
    for e in evidence:
        where = ", ".join(
            part for part in (
                e.document_title,
                f"page {e.page_number}" if e.page_number is not None else None,
                e.fiscal_period,
            ) if part
        )
        blocks.append(f"[{e.index}] ({where})\n{' '.join(e.text.split())}")
    user = f"Question: {question}\n\nPassages:\n\n" + "\n\n".join(blocks) + "\n\nAnswer:"
    task = {
        "mode": "answer",
        "question": question,
        "focus": list(focus),
        "terms": sorted(terms) if terms is not None else None,
        "evidence": [
            {"index": e.index, "text": e.text, "score": e.score, "fiscal_period": e.fiscal_period}
            for e in evidence
        ],
    }
    return Prompt(system=SYSTEM, user=user, task=task, max_tokens=600, temperature=0.1)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English prose; used where a model reports none."""
    return max(1, round(len(text) / 4)) if text else 0


class ExtractiveAnswerer(ChatModel):
    """The offline generator: picks the evidence sentences that best answer the question
    (shared terms first, then figures and the asked period), quotes them with their [n]
    marker and says plainly that no language model wrote the answer. Deterministic."""

    name = "extractive"

    def __init__(self, max_sentences: int = 3, max_per_passage: int = 2) -> None:
        self._max_sentences = max_sentences
        self._max_per_passage = max_per_passage

    async def complete(self, prompt: Prompt) -> Completion:
        text = self.answer(prompt.task)
        return Completion(
            text=text, model=self.name,
            input_tokens=estimate_tokens(prompt.system + prompt.user),
            output_tokens=estimate_tokens(text),
        )

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        for piece in re.findall(r"\S+\s*", self.answer(prompt.task)):
            yield piece

    def answer(self, task: dict[str, Any]) -> str:
        if task.get("terms") is not None:
            question_words = set(task["terms"])
        else:
            question_words = content_terms(task.get("question", "")) - {"fy", "q", "h"}
        focus = [f.lower() for f in task.get("focus", [])]
        ranked: list[tuple[float, int, int, str]] = []
        for order, item in enumerate(task.get("evidence", [])):
            for position, sentence in enumerate(sentences(item["text"])):
                words = content_terms(sentence)
                shared = coverage(question_words, words) if question_words else 0
                if shared == 0 or len(words) < 2:
                    continue
                score = (
                    shared
                    + (0.3 if amounts(sentence) else 0.0)
                    + (0.2 if any(f in sentence.lower() for f in focus) else 0.0)
                    + 0.2 * float(item.get("score") or 0.0)
                    - 0.01 * position
                )
                ranked.append((score, order, item["index"], sentence))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        chosen: list[tuple[int, str]] = []
        per_passage: dict[int, int] = {}
        seen: set[str] = set()
        best = ranked[0][0] if ranked else 0.0
        for score, _, index, sentence in ranked:
            if score < RELATIVE_CUTOFF * best:
                break  # much weaker than the best sentence: noise, not more answer
            key = " ".join(sorted(content_terms(sentence)))
            if key in seen or per_passage.get(index, 0) >= self._max_per_passage:
                continue
            seen.add(key)
            per_passage[index] = per_passage.get(index, 0) + 1
            chosen.append((index, sentence))
            if len(chosen) == self._max_sentences:
                break
        if not chosen:
            return NOT_FOUND
        return " ".join([EXTRACTIVE_LABEL, *(_cite(s, i) for i, s in chosen)])


def _cite(sentence: str, index: int) -> str:
    sentence = sentence.strip()
    m = re.match(r"^(.*?)([.!?]+[\"')\]]*)$", sentence, re.S)
    if m:
        return f"{m.group(1)} [{index}]{m.group(2)}"
    return f"{sentence} [{index}]."
