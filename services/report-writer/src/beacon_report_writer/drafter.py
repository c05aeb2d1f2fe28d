"""The offline drafter: a ChatModel that needs no network and no model weights.

It is what the report writer uses when no OpenAI-compatible endpoint is configured, and it
never pretends to be a language model: every draft opens with a visible label.
- generate: an extractive section. For each topic of the section guide, the sentences of the
  customer's passages that best cover it, quoted with their footnote, de-duplicated, in the
  material's reading order; a topic the material says nothing about gets one line saying so.
  An Executive Summary drafted after other sections opens with their first cited sentences.
  Only when the customer has no material at all is the answer an outline, and it says so.
- refine: what the instruction asks that can be done without rewriting prose: shorten to a
  target length, bullets, remove a named topic, add a topic from the material with its
  footnote (or say it could not), keeping the footnotes of the sentences that survive. The
  revision notes list what changed (the job result's `changes`).
Output depends only on `prompt.task`, so the same job always gives the same draft.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from typing import Any

from beacon_contracts.sections import ReportType
from beacon_report_writer.domain import (
    REPORT_NAMES,
    parse_heading,
    section_guide,
)
from beacon_report_writer.grounding import (
    Passage,
    assign_sentences,
    markers,
    pick_sentences,
    sentences,
    strip_definitions,
    terms,
    without_markers,
)
from beacon_runtime.llm.port import ChatModel, Completion, Prompt

OFFLINE_LABEL = "> Draft produced by the offline drafter (no language model configured)."
EXTRACTIVE_NOTE = (" Extractive: every statement below is quoted from the customer's material "
                   "and footnoted with its document and page; review and edit before sharing.")
REVISION_NOTES = "> **Revision notes**"

_SHORTEN = re.compile(r"\b(short|shorter|shorten|concise|brief|briefer|summar\w*|condense|trim)\b")
_BULLETS = re.compile(r"\b(bullet\w*|list|points?)\b")
_TONE = re.compile(r"\b(tone|formal|informal|friendly|confident|persuasive|assertive|polite|warm)\b")
_WORDS_TARGET = re.compile(r"\b(\d{2,4})\s*words?\b")
_PERCENT_TARGET = re.compile(r"\b(\d{1,2})\s*(%|percent)")
_HALF = re.compile(r"\bhalf\b")
_REMOVE = re.compile(r"\b(?:remove|drop|delete|cut out|leave out|take out|omit)\s+(?:the\s+|any\s+|all\s+)?"
                     r"(?:mentions? of\s+|part about\s+|section on\s+|paragraph about\s+)?(?P<topic>[^.,;]+)")
_ADD = re.compile(r"\b(?:add|include|mention|cover)\s+(?:a|an|the|some)?\s*(?:new\s+)?"
                  r"(?:(?P<kind>risk|point|paragraph|section|note|item|requirement|bullet)s?\s+)?"
                  r"(?:about|on|regarding|for|covering|of)?\s*(?P<topic>[^.,;]+)")


class OfflineDrafter(ChatModel):
    name = "offline-drafter"

    async def complete(self, prompt: Prompt) -> Completion:
        return Completion(text=self.draft(prompt.task), model=self.name)

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        for piece in re.findall(r"^\s+|\S+\s*", self.draft(prompt.task)):
            yield piece

    def draft(self, task: dict[str, Any]) -> str:
        if task.get("mode") == "refine":
            return _refine(task)
        return _generate(task)


# --- generate ------------------------------------------------------------------------------


def _generate(task: dict[str, Any]) -> str:
    report_type = ReportType(task["report_type"])
    title = task["section_title"]
    guide = section_guide(report_type, title)
    material = task.get("material") or {}
    if not material.get("documents"):
        return _outline(task, report_type, title, material)
    passages = {p["n"]: Passage.from_task(p) for p in task.get("passages", [])}
    lines = [f"## {title}", "", OFFLINE_LABEL + EXTRACTIVE_NOTE]
    summary = task.get("summary_points") or []
    if summary:
        lines += ["", "### The report in brief", ""]
        lines += [f"- **{point['section']}**: {point['sentence']}[^{point['passage']}]" for point in summary]
    topics = task.get("topics", [])
    chosen = assign_sentences([(set(t["terms"]), [passages[n] for n in t["passages"]]) for t in topics],
                              [point["sentence"] for point in summary], limit=2 if summary else 4,
                              names=[t["topic"] for t in topics], neighbours=list(passages.values()))
    for topic, picks in zip(topics, chosen, strict=True):
        lines += ["", f"### {topic['topic']}", ""]
        if not picks:
            lines.append(f"The material says nothing about {topic['topic'].lower()}.")
            continue
        lines += [f"- {_quoted(pick.sentence)}{_cites(pick)}" for pick in picks]
    return "\n".join(lines) + "\n"


def _cites(pick) -> str:
    """The footnotes of a quoted sentence: its passage, and the next chunk when the sentence
    goes on there (so each page the words are on is named)."""
    return "".join(f"[^{p.n}]" for p in pick.cited)


def _quoted(sentence: str) -> str:
    text = sentence.strip()
    if text.endswith(";"):  # an item of a list, quoted on its own
        text = text[:-1].rstrip() + "."
    return text if text.endswith((".", "!", "?", ":", ";")) else text + "."


def _outline(task: dict[str, Any], report_type: ReportType, title: str, material: dict[str, Any]) -> str:
    guide = section_guide(report_type, title)
    reason = material.get("unavailable") or (
        f"No customer material has been uploaded for customer `{task['customer_id']}`: upload the "
        "RFP, requirements or meeting notes with POST /documents and generate this section again.")
    lines = [
        f"## {title}", "",
        f"{OFFLINE_LABEL} It is only an outline of what this section has to cover, because "
        "there is nothing to draft it from.", "",
        f"> **Material missing.** {reason}", "",
        f"*{REPORT_NAMES[report_type].capitalize()} for customer `{task['customer_id']}`, "
        f"opportunity `{task['opportunity_id']}`.*", "",
        f"**Purpose:** {guide.purpose}",
    ]
    for topic in guide.covers:
        lines += ["", f"### {topic}", "", f"_To complete: {topic.lower()}._"]
    return "\n".join(lines) + "\n"


# --- refine --------------------------------------------------------------------------------


def _refine(task: dict[str, Any]) -> str:
    instruction = " ".join(task["instruction"].split())
    wanted = instruction.casefold()
    body, definitions = strip_definitions(_without_label(task["original_markdown"]))
    blocks = _blocks(_without_leading_title(body))
    applied: list[str] = []

    if (removal := _REMOVE.search(wanted)) and not _ADD.match(wanted):
        topic = _clean_topic(removal.group("topic"))
        blocks, removed = _remove_topic(blocks, topic)
        applied.append(f"removed {removed} part(s) about {topic}" if removed
                       else f"found nothing about {topic} to remove")
    addition = task.get("addition")
    if _SHORTEN.search(wanted):
        before = _word_count(blocks)
        target = _target_words(wanted, before)
        blocks = _shorten(blocks, target)
        applied.append(f"shortened from {before} to {_word_count(blocks)} words (target {target}), "
                       "keeping the first point under each heading and the footnotes of what remains")
    if _BULLETS.search(wanted) and not addition:
        blocks = [_as_bullets(b) if _is_prose(b) else b for b in blocks]
        applied.append("turned paragraphs into bullet points, one per sentence")
    if addition:  # last, so that shortening never cuts what was asked for
        blocks, note = _add_topic(blocks, addition, task)
        applied.append(note)
    if _TONE.search(wanted):
        applied.append("the tone is unchanged: the offline drafter cannot rewrite wording")
    blocks = [_demote_heading(b) for b in blocks]
    if not applied:
        applied.append("nothing: the offline drafter cannot rewrite prose, so the text is unchanged")
    kept = {label for block in blocks for label in markers(block)}
    lines = [
        f"## {task['section_title']}", "",
        f"{OFFLINE_LABEL} It applied the mechanical part of the requested change.", "",
        REVISION_NOTES,
        f'> Requested change: "{instruction}"',
        ">",
        *[f"> - {change[0].upper()}{change[1:]}." for change in applied],
        "",
        "\n\n".join(blocks),
    ]
    text = "\n".join(lines).rstrip() + "\n"
    kept_definitions = [f"[^{label}]: {definitions[label]}" for label in definitions if label in kept]
    return text + ("\n" + "\n".join(kept_definitions) + "\n" if kept_definitions else "")


def _clean_topic(topic: str) -> str:
    topic = re.sub(r"\b(from|in|of)\s+(the|this)\s+(text|section|draft)\b.*$", "", topic)
    # "... and add X": the rest is another request; "regulations and standards" is one topic.
    topic = re.sub(r"\b(and|then)\s+(add|make|keep|also|include|remove|drop|shorten|turn|use|put)\b.*$", "", topic)
    return " ".join(topic.split()).strip(" '\"")


def instruction_addition(instruction: str) -> str | None:
    """The topic an instruction asks to add ("add a risk about vendor lock-in")."""
    match = _ADD.search(" ".join(instruction.casefold().split()))
    if match is None:
        return None
    topic = _clean_topic(match.group("topic"))
    return topic or None


def _add_topic(blocks: list[str], addition: dict[str, Any], task: dict[str, Any]) -> tuple[list[str], str]:
    topic = addition["topic"]
    wanted = terms(topic)
    needed = max(1, math.ceil(0.6 * len(wanted)))
    passages = [Passage.from_task(p) for p in task.get("passages", []) if p["n"] in addition["passages"]]
    existing = [without_markers(s) for b in blocks for s in sentences(b)]
    picks = [p for p in pick_sentences(wanted, passages, existing, limit=3)
             if len(terms(p.sentence) & wanted) >= needed]
    heading = f"### {topic[0].upper()}{topic[1:]}"
    if not picks:
        line = f"_The material says nothing about {topic}, so it was not added._"
        return [*blocks, line], f"could not add {topic}: the customer's material says nothing about it"
    bullets = "\n".join(f"- {_quoted(p.sentence)}{_cites(p)}" for p in picks)
    kind = addition.get("kind")
    what = f"a {kind} about {topic}" if kind else topic
    return [*blocks, heading, bullets], f"added {what} from the material ({len(picks)} footnoted point(s))"


def _remove_topic(blocks: list[str], topic: str) -> tuple[list[str], int]:
    wanted = terms(topic)
    if not wanted:
        return blocks, 0
    out, removed, skipping = [], 0, False
    for block in blocks:
        heading = parse_heading(block) if "\n" not in block else None
        if heading:
            skipping = wanted <= terms(heading[1]) or len(wanted & terms(heading[1])) >= max(1, len(wanted))
            if skipping:
                removed += 1
                continue
        if skipping:
            continue
        lines = []
        for line in block.splitlines():
            if wanted <= terms(line):
                removed += 1
                continue
            lines.append(line)
        if lines:
            out.append("\n".join(lines))
    return out, removed


def _target_words(wanted: str, before: int) -> int:
    if match := _WORDS_TARGET.search(wanted):
        return max(10, int(match.group(1)))
    if match := _PERCENT_TARGET.search(wanted):
        return max(10, before * int(match.group(1)) // 100)
    if _HALF.search(wanted):
        return max(10, before // 2)
    return max(10, before * 6 // 10)


def _word_count(blocks: list[str]) -> int:
    return sum(len(without_markers(b).split()) for b in blocks if not parse_heading(b.splitlines()[0]))


def _shorten(blocks: list[str], target: int) -> list[str]:
    """Keep, in order, as many points as fit `target` words: first the first point under each
    heading, then the second ones, and so on; headings stay while anything under them does."""
    items: list[tuple[int, int, str]] = []  # (block, priority, text)
    units: dict[int, list[str]] = {}
    rank_in_section = 0
    for i, block in enumerate(blocks):
        if parse_heading(block.splitlines()[0]) and "\n" not in block:
            rank_in_section = 0
            continue
        pieces = block.splitlines() if not _is_prose(block) else sentences(block)
        units[i] = pieces
        for piece in pieces:
            items.append((i, rank_in_section, piece))
            rank_in_section += 1
    budget, keep = target, set()
    for index, (i, priority, text) in sorted(enumerate(items), key=lambda x: (x[1][1], x[0])):
        words = len(without_markers(text).split())
        if words <= budget or not keep:
            keep.add(index)
            budget -= words
    kept_by_block: dict[int, list[str]] = {}
    for index, (i, _, text) in enumerate(items):
        if index in keep:
            kept_by_block.setdefault(i, []).append(text)
    out = []
    for i, block in enumerate(blocks):
        if i in units:
            if i in kept_by_block:
                joiner = " " if _is_prose(block) else "\n"
                out.append(joiner.join(kept_by_block[i]))
        else:
            out.append(block)
    # A heading with nothing left under it goes too.
    return [b for j, b in enumerate(out)
            if not (parse_heading(b) and "\n" not in b and (j + 1 >= len(out) or parse_heading(out[j + 1].splitlines()[0])))]


def _without_label(markdown: str) -> str:
    """The original without our own label and revision notes (a refine of a refine)."""
    lines, skipping = [], False
    for line in markdown.splitlines():
        if line.startswith(OFFLINE_LABEL[:40]) or line.startswith(REVISION_NOTES):
            skipping = line.startswith(REVISION_NOTES)
            continue
        if skipping and line.startswith(">"):
            continue
        skipping = False
        lines.append(line)
    return "\n".join(lines)


def _without_leading_title(markdown: str) -> str:
    lines = markdown.strip().splitlines()
    if lines and (heading := parse_heading(lines[0])) and heading[0] <= 2:
        lines = lines[1:]
    return "\n".join(lines)


def _blocks(markdown: str) -> list[str]:
    """Blank-line separated blocks; a heading is a block of its own; a fenced code block
    stays whole."""
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        if not in_fence and parse_heading(line) and current:
            blocks.append("\n".join(current))
            current = []
        current.append(line)
        if not in_fence and parse_heading(line):
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _is_prose(block: str) -> bool:
    first = block.lstrip()
    return not (
        parse_heading(first.splitlines()[0])
        or re.match(r"([-*+]|\d+\.)\s", first)
        or first.startswith((">", "|", "```", "<", "_"))
    )


def _as_bullets(block: str) -> str:
    return "\n".join(f"- {sentence}" for sentence in sentences(block))


def _demote_heading(block: str) -> str:
    heading = parse_heading(block) if "\n" not in block else None
    if heading is None:
        return block
    level, text = heading
    return f"{'#' * max(level, 3)} {text}"
