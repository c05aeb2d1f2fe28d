"""The offline drafter: a ChatModel that needs no network and no model weights.

It is what the report writer uses when no OpenAI-compatible endpoint is configured. It never
pretends to be a language model: every draft opens with a visible label, a generated section
is an outline of what the section must cover, and a refinement keeps the original text,
applies only the mechanical parts of the instruction it recognises and says so.
Output depends only on `prompt.task`, so the same job always gives the same draft.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from beacon_contracts.sections import ReportType
from beacon_report_writer.domain import (
    REPORT_NAMES,
    first_sentence,
    parse_heading,
    section_guide,
    section_order,
)
from beacon_runtime.llm.port import ChatModel, Completion, Prompt

OFFLINE_LABEL = "> Draft produced by the offline drafter (no language model configured)."

_SHORTEN = re.compile(r"\b(short|shorter|shorten|concise|brief|briefer|summar\w*|condense|trim)\b")
_BULLETS = re.compile(r"\b(bullet\w*|list|points?)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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


def _generate(task: dict[str, Any]) -> str:
    report_type = ReportType(task["report_type"])
    title = task["section_title"]
    guide = section_guide(report_type, title)
    opportunity = task["opportunity_id"]
    lines = [
        f"## {title}",
        "",
        f"{OFFLINE_LABEL} It outlines what this section has to cover; "
        "replace each prompt with facts before sharing.",
        "",
        f"*{REPORT_NAMES[report_type].capitalize()} for customer `{task['customer_id']}`, "
        f"opportunity `{opportunity}`.*",
        "",
        f"**Purpose:** {guide.purpose}",
    ]
    for topic in guide.covers:
        lines += ["", f"### {topic}", "", f"_To complete: {topic.lower()} for {opportunity}._"]
    earlier = task.get("earlier_sections") or {}
    if earlier:
        lines += ["", "### Related sections", ""]
        for other in section_order(report_type, list(earlier)):
            summary = first_sentence(earlier[other]) or "drafted earlier in this session."
            lines.append(f"- **{other}**: {summary}")
    return "\n".join(lines) + "\n"


def _refine(task: dict[str, Any]) -> str:
    instruction = " ".join(task["instruction"].split())
    blocks = _blocks(_without_leading_title(task["original_markdown"]))
    applied: list[str] = []
    wanted = instruction.casefold()
    if _SHORTEN.search(wanted):
        blocks = [_first_sentence_only(b) if _is_prose(b) else b for b in blocks]
        applied.append("kept the first sentence of each paragraph")
    if _BULLETS.search(wanted):
        blocks = [_as_bullets(b) if _is_prose(b) else b for b in blocks]
        applied.append("turned paragraphs into bullet points, one per sentence")
    blocks = [_demote_heading(b) for b in blocks]
    applied.append("kept the section heading and moved inner headings to level 3")
    if len(applied) == 1:
        applied.append("the wording itself is unchanged: the offline drafter cannot rewrite prose")
    lines = [
        f"## {task['section_title']}",
        "",
        f"{OFFLINE_LABEL} It applied only the mechanical part of the requested change.",
        "",
        "> **Revision notes**",
        f'> Requested change: "{instruction}"',
        ">",
        *[f"> - {change[0].upper()}{change[1:]}." for change in applied],
        "",
        "\n\n".join(blocks),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _without_leading_title(markdown: str) -> str:
    lines = markdown.strip().splitlines()
    if lines and (heading := parse_heading(lines[0])) and heading[0] <= 2:
        lines = lines[1:]
    return "\n".join(lines)


def _blocks(markdown: str) -> list[str]:
    """Blank-line separated blocks; a fenced code block stays whole."""
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
        or first.startswith((">", "|", "```", "<"))
    )


def _sentences(block: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(" ".join(block.split())) if s]


def _first_sentence_only(block: str) -> str:
    sentences = _sentences(block)
    return sentences[0] if sentences else block


def _as_bullets(block: str) -> str:
    return "\n".join(f"- {sentence}" for sentence in _sentences(block))


def _demote_heading(block: str) -> str:
    heading = parse_heading(block) if "\n" not in block else None
    if heading is None:
        return block
    level, text = heading
    return f"{'#' * max(level, 3)} {text}"
