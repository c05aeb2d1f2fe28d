"""The prompt for one section: text a language model reads, and the same facts as a
structured task for the offline drafter."""

from __future__ import annotations

from beacon_contracts.report_api import GenerateRequest, RefineRequest
from beacon_report_writer.domain import REPORT_NAMES, section_guide, section_order
from beacon_runtime.llm.port import Prompt

# Earlier sections are context, not the subject: cap what they add to the prompt.
_SECTION_CONTEXT_CHARS = 2000
_TOTAL_CONTEXT_CHARS = 8000


def section_prompt(request: GenerateRequest, earlier_sections: dict[str, str]) -> Prompt:
    refining = isinstance(request, RefineRequest)
    context = _bounded_context(request, earlier_sections)
    task = {
        "mode": "refine" if refining else "generate",
        "report_type": request.type.value,
        "section_title": request.section_title,
        "customer_id": request.customer_id,
        "opportunity_id": request.opportunity_id,
        "earlier_sections": context,
    }
    if refining:
        task["original_markdown"] = request.original_markdown()
        task["instruction"] = request.prompt
    return Prompt(
        system=_system(request),
        user=_user(request, context),
        task=task,
        temperature=0.2 if refining else 0.4,
    )


def _system(request: GenerateRequest) -> str:
    report = REPORT_NAMES[request.type]
    return (
        f"You are a senior consultant writing one section of a {report} for a client.\n"
        f"Answer with the markdown of that section only: start with the heading "
        f"`## {request.section_title}`, use `###` for sub-headings, and do not wrap the answer "
        "in a code block.\n"
        "Do not invent facts, figures, names or dates. Where information is missing, write a "
        "short placeholder in square brackets, for example [to be confirmed]."
    )


def _user(request: GenerateRequest, context: dict[str, str]) -> str:
    guide = section_guide(request.type, request.section_title)
    parts = [
        f"Report: {REPORT_NAMES[request.type]}",
        f"Customer: {request.customer_id}",
        f"Opportunity: {request.opportunity_id}",
        f"Section: {request.section_title}",
        "",
        f"Purpose of the section: {guide.purpose}",
        "It should cover:",
        *[f"- {topic}" for topic in guide.covers],
    ]
    if context:
        parts += ["", "Earlier sections of this report, for consistency (do not repeat them):"]
        for title, markdown in context.items():
            parts += ["", f'<section title="{title}">', markdown.strip(), "</section>"]
    if isinstance(request, RefineRequest):
        parts += [
            "",
            "Current text of the section:",
            "<current>",
            request.original_markdown().strip(),
            "</current>",
            "",
            f"Revise the section according to this instruction: {request.prompt}",
            "Keep whatever the instruction does not ask to change, and answer with the "
            "complete revised section.",
        ]
    else:
        parts += ["", f'Write the "{request.section_title}" section now.']
    return "\n".join(parts)


def _bounded_context(request: GenerateRequest, earlier: dict[str, str]) -> dict[str, str]:
    context: dict[str, str] = {}
    budget = _TOTAL_CONTEXT_CHARS
    for title in section_order(request.type, [t for t in earlier if t != request.section_title]):
        text = earlier[title]
        if len(text) > _SECTION_CONTEXT_CHARS:
            text = text[:_SECTION_CONTEXT_CHARS].rstrip() + "\n[…]"
        if len(text) > budget:
            break
        context[title] = text
        budget -= len(text)
    return context
