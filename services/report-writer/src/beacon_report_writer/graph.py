"""The section pipeline as a LangGraph state graph.

    prepare -> retrieve -> draft -> check -> finalize -> remember
       |          |          |
       +----------+----------+--> END with `error` set (invalid input, material or model failure)

- prepare: the request (a typed command's, checked by the runtime's dispatcher, or raw
  params, checked here), its owner and session, the session's earlier sections.
- retrieve: the customer's passages for each topic of the section guide (two search
  queries per topic, its words with its hints and its words alone, fused by reciprocal
  rank); for an Executive Summary after other sections, their
  first cited sentences; for a refinement, the passages its footnotes cite and, when asked to
  add a topic, the passages about it.
- draft: the model (or the offline drafter) writes from the numbered passages.
- check: every footnote must cite a passage sent, every figure must be found in (or derived
  from) its passages; footnotes are renumbered and defined; figures that another section of
  the session states differently are flagged.
Expected failures end the run with a JobError in the state; anything else raises and is the
handler's business.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from pydantic import ValidationError

from beacon_contracts.events import JobError
from beacon_contracts.material import MaterialSearchRequest
from beacon_contracts.report_api import GenerateRequest, RefineRequest, SectionResult
from beacon_report_writer.domain import (
    ErrorCode,
    encode_b64,
    normalize_section,
    section_guide,
    section_order,
    topic_queries,
    topic_query,
)
from beacon_report_writer.drafter import REVISION_NOTES, instruction_addition
from beacon_report_writer.grounding import (
    Passage,
    figure_conflicts,
    footnote_refs,
    joined_sentence,
    markers,
    sentences,
    settle_footnotes,
    strip_definitions,
    terms,
    without_markers,
)
from beacon_report_writer.prompts import section_prompt
from beacon_report_writer.repository import SavedSection, SessionDrafts
from beacon_report_writer.sources import MaterialSource, MaterialUnavailable, NoMaterialSource
from beacon_runtime.instrumentation import traced_node
from beacon_runtime.llm.port import ChatModel, LLMError, LLMTimeout
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

_REQUESTS: dict[str, type[GenerateRequest]] = {
    "generate": GenerateRequest,
    "refine": RefineRequest,
}
SUMMARY = "Executive Summary"
_ADD_KIND = re.compile(r"\badd\s+(?:a|an)?\s*(?P<kind>risk|point|requirement|note)\b")


class SectionState(TypedDict, total=False):
    kind: str  # "generate" | "refine"
    params: dict[str, Any]  # the JobRequested params as sent by the gateway
    owner: str  # the API key's record: sessions and material are its own
    request: GenerateRequest  # a RefineRequest for refine jobs
    session_id: str | None
    earlier: dict[str, SavedSection]
    grounding: dict[str, Any]  # passages, topics, material, summary_points, addition
    draft: str  # the model's answer as received
    markdown: str  # the checked, normalised section
    citations: list[dict[str, Any]]
    flags: list[str]
    changes: list[str]
    result: dict[str, Any]  # SectionResult.public(), the job's result
    error: JobError


def build_graph(chat_model: ChatModel, drafts: SessionDrafts, material: MaterialSource | None = None, *,
                passages_per_topic: int = 8) -> CompiledStateGraph:
    material = material or NoMaterialSource()

    async def prepare(state: SectionState) -> SectionState:
        owner = state.get("owner") or "anonymous"
        if state.get("request") is not None:  # a typed command, checked by the dispatcher
            session_id = state.get("session_id") or None
            earlier = await _load_earlier(drafts, owner, session_id) if session_id else {}
            return {"session_id": session_id, "earlier": earlier, "owner": owner}
        params = dict(state.get("params") or {})
        session_id = params.pop("session_id", None)
        request_type = _REQUESTS.get(state.get("kind", ""))
        if request_type is None:
            return _failed(ErrorCode.INVALID_INPUT, f"unsupported job kind {state.get('kind')!r}")
        try:
            request = request_type.model_validate(params)
        except ValidationError as exc:
            return _failed(ErrorCode.INVALID_INPUT, _describe(exc))
        if not (isinstance(session_id, str) and session_id.strip()):
            session_id = None
        earlier = await _load_earlier(drafts, owner, session_id) if session_id else {}
        return {"request": request, "session_id": session_id, "earlier": earlier, "owner": owner}

    async def retrieve(state: SectionState) -> SectionState:
        request = state["request"]
        try:
            if isinstance(request, RefineRequest):
                grounding = await _refine_grounding(material, state["owner"], request,
                                                    state.get("earlier", {}), passages_per_topic)
            else:
                grounding = await _generate_grounding(material, state["owner"], request,
                                                      state.get("earlier", {}), passages_per_topic)
        except MaterialUnavailable as exc:
            log.warning("report.material_unavailable", error=str(exc))
            return _failed(ErrorCode.MATERIAL_UNAVAILABLE,
                           "The customer's material could not be searched; retry in a moment.")
        if isinstance(material, NoMaterialSource):
            grounding["material"] = {"documents": 0, "unavailable": NoMaterialSource.reason}
        return {"grounding": grounding}

    async def draft(state: SectionState) -> SectionState:
        earlier = {title: saved.markdown for title, saved in state.get("earlier", {}).items()}
        prompt = section_prompt(state["request"], earlier, state.get("grounding"))
        try:
            completion = await chat_model.complete(prompt)
        except LLMTimeout as exc:
            log.warning("report.llm_timeout", model=chat_model.name, error=str(exc))
            return _failed(ErrorCode.LLM_TIMEOUT, "The language model did not answer in time.")
        except LLMError as exc:
            log.warning("report.llm_error", model=chat_model.name, error=str(exc))
            return _failed(ErrorCode.LLM_ERROR, "The language model request failed.")
        if not completion.text.strip():
            log.warning("report.llm_empty", model=completion.model)
            return _failed(ErrorCode.LLM_ERROR, "The language model returned an empty draft.")
        log.info(
            "report.drafted",
            model=completion.model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            passages=len((state.get("grounding") or {}).get("passages", [])),
        )
        return {"draft": completion.text}

    async def check(state: SectionState) -> SectionState:
        request = state["request"]
        grounding = state.get("grounding") or {}
        passages = [Passage.from_task(p) for p in grounding.get("passages", [])]
        offline_refine = isinstance(request, RefineRequest) and chat_model.name == "offline-drafter"
        settled = settle_footnotes(normalize_section(state["draft"], request.type, request.section_title),
                                   passages, check_numbers=not offline_refine)
        earlier = {t: s.markdown for t, s in state.get("earlier", {}).items() if t != request.section_title}
        conflicts = figure_conflicts(request.section_title, settled.markdown, earlier)
        markdown = _with_checks(settled.markdown, conflicts)
        changes: list[str] = []
        if isinstance(request, RefineRequest):
            changes = _revision_notes(markdown) or describe_changes(request.original_markdown(), markdown)
        return {"markdown": markdown, "citations": settled.citations,
                "flags": settled.flags + conflicts, "changes": changes}

    async def finalize(state: SectionState) -> SectionState:
        request = state["request"]
        refining = isinstance(request, RefineRequest)
        field = "refined_section_b64" if refining else "generated_section_b64"
        result = SectionResult(
            customer_id=request.customer_id,
            opportunity_id=request.opportunity_id,
            section_title=request.section_title,
            citations=state.get("citations", []),
            changes=state.get("changes") if refining else None,
            flags=state.get("flags") or None,
            **{field: encode_b64(state["markdown"])},
        )
        return {"result": result.public()}

    async def remember(state: SectionState) -> SectionState:
        session_id = state.get("session_id")
        if session_id:
            title = state["request"].section_title
            saved = SavedSection(state["markdown"], state.get("citations", []))
            try:
                await drafts.save(state["owner"], session_id, title, saved)
            except Exception as exc:  # noqa: BLE001 - context is optional, the draft is not
                log.warning("report.session_save_failed", error=repr(exc))
        return {}

    graph = StateGraph(SectionState)
    for name, node in (("prepare", prepare), ("retrieve", retrieve), ("draft", draft),
                       ("check", check), ("finalize", finalize), ("remember", remember)):
        graph.add_node(name, traced_node("report-section", name, node))
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", _unless_failed("retrieve"), ["retrieve", END])
    graph.add_conditional_edges("retrieve", _unless_failed("draft"), ["draft", END])
    graph.add_conditional_edges("draft", _unless_failed("check"), ["check", END])
    graph.add_edge("check", "finalize")
    graph.add_edge("finalize", "remember")
    graph.add_edge("remember", END)
    return graph.compile(name="report-section")


# --- retrieval -----------------------------------------------------------------------------


class _Numbering:
    """Passages numbered once each, in the order they are first found."""

    def __init__(self) -> None:
        self.passages: list[Passage] = []
        self._by_chunk: dict[str, int] = {}

    def add(self, key: str, make) -> int:
        if key not in self._by_chunk:
            passage = make(len(self.passages) + 1)
            self.passages.append(passage)
            self._by_chunk[key] = passage.n
        return self._by_chunk[key]


async def _generate_grounding(material: MaterialSource, owner: str, request: GenerateRequest,
                              earlier: dict[str, SavedSection], limit: int) -> dict[str, Any]:
    guide = section_guide(request.type, request.section_title)
    per_topic = [topic_queries(topic) for topic in guide.covers]
    flat = [query for queries in per_topic for query in queries]
    found = await material.search(owner, MaterialSearchRequest(
        customer_id=request.customer_id, opportunity_id=request.opportunity_id,
        queries=flat, limit=limit, neighbours=True))
    results = list(found.results or [])
    numbering = _Numbering()
    topics = []
    hits = []
    start = 0
    for topic, queries in zip(guide.covers, per_topic, strict=True):
        lists = [r.hits for r in results[start:start + len(queries)]]
        start += len(queries)
        numbers = []
        for hit in fused(lists, limit):
            numbers.append(numbering.add(hit.chunk_id, lambda n, h=hit, t=topic: _passage(n, h, h, t)))
            hits.append(hit)
        topics.append({"topic": topic, "terms": sorted(terms(topic_query(topic))), "passages": numbers})
    _add_neighbours(numbering, hits)
    summary = []
    if request.section_title == SUMMARY and found.documents:
        summary = _summary_points(request, earlier, numbering)
    return {"material": {"documents": found.documents}, "topics": topics, "summary_points": summary,
            "passages": [p.as_task() for p in numbering.passages]}


RRF_K = 60  # the usual constant: a hit's place matters, not which list found it first


def fused(lists: list[list], limit: int) -> list:
    """The hits of several queries for one topic, by reciprocal rank fusion (a chunk found
    high by several queries first), the best `limit`."""
    scores: dict[str, float] = {}
    first: dict[str, Any] = {}
    for hits in lists:
        for rank, hit in enumerate(hits):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            first.setdefault(hit.chunk_id, hit)
    ranked = sorted(first, key=lambda chunk_id: -scores[chunk_id])
    return [first[chunk_id] for chunk_id in ranked[:limit]]


def _passage(n: int, hit, chunk, topic: str) -> Passage:
    """`chunk`: the hit itself, or its neighbour (same document and title)."""
    return Passage(n=n, document_id=hit.document_id, document_title=hit.document_title,
                   page_number=chunk.page_number, text=_without_section(chunk), topic=topic,
                   offer=hit.offer, chunk=chunk.chunk_index)


def _add_neighbours(numbering: _Numbering, hits: list) -> None:
    """The chunk before or after a hit, numbered after every hit, when it completes a
    sentence the chunk boundary cut (the drafter joins the two and cites both); other
    neighbours are left out, so the passages a model reads stay the ones retrieved."""
    for hit in hits:
        here = _passage(0, hit, hit, "")
        for neighbour, first, second in ((hit.previous, True, False), (hit.next, False, True)):
            if neighbour is None:
                continue
            other = _passage(0, hit, neighbour, "")
            pair = (other, here) if first else (here, other)
            if joined_sentence(*pair):
                numbering.add(neighbour.chunk_id, lambda n, h=hit, c=neighbour: _passage(n, h, c, ""))


def _without_section(hit) -> str:
    """The chunk's text without the section heading it starts with (a heading is no fact)."""
    text = hit.text.strip()
    if hit.section and text.startswith(hit.section.strip()):
        text = text[len(hit.section.strip()):].strip()
    return text or hit.text


def _summary_points(request: GenerateRequest, earlier: dict[str, SavedSection],
                    numbering: _Numbering) -> list[dict[str, Any]]:
    """The first two cited sentences of each earlier section, with the passage they cite."""
    points = []
    for title in section_order(request.type, [t for t in earlier if t != SUMMARY]):
        saved = earlier[title]
        citations = {str(c["index"]): c for c in saved.citations}
        body, _ = strip_definitions(saved.markdown)
        taken = 0
        for line in body.splitlines():
            if taken >= 2:
                break
            for sentence in sentences(line):
                labels = [label for label in markers(sentence) if label in citations]
                if not labels or taken >= 2:
                    continue
                cited = citations[labels[0]]
                n = numbering.add(f"{title}#{labels[0]}", lambda n, c=cited: Passage(
                    n=n, document_id=c["document_id"], document_title=c["document_title"],
                    page_number=c["page_number"], text=c["source_text"], topic=title))
                points.append({"section": title, "sentence": without_markers(sentence).strip(), "passage": n})
                taken += 1
    return points


async def _refine_grounding(material: MaterialSource, owner: str, request: RefineRequest,
                            earlier: dict[str, SavedSection], limit: int) -> dict[str, Any]:
    """The original's footnotes as passages (their full text from the session when this
    section was drafted in it), then the passages about a topic the instruction adds."""
    _, definitions = strip_definitions(request.original_markdown())
    saved = earlier.get(request.section_title)
    by_index = {str(c["index"]): c for c in (saved.citations if saved else [])}
    passages: list[Passage] = []
    for label, definition in definitions.items():
        if not label.isdigit():
            continue
        document_id, page = footnote_refs(definition)
        cited = by_index.get(label)
        if cited and cited["document_id"] == document_id:
            passages.append(Passage(n=int(label), document_id=cited["document_id"],
                                    document_title=cited["document_title"],
                                    page_number=cited["page_number"], text=cited["source_text"]))
        else:
            quote = definition.split(":", 1)[-1].strip().strip('"')
            title = definition.split(",", 1)[0].strip()
            passages.append(Passage(n=int(label), document_id=document_id or 0, document_title=title,
                                    page_number=page or 1, text=quote))
    grounding: dict[str, Any] = {"material": {"documents": len(passages)}}
    topic = instruction_addition(request.prompt)
    if topic:
        found = await material.search(owner, MaterialSearchRequest(
            customer_id=request.customer_id, opportunity_id=request.opportunity_id,
            queries=[topic], limit=limit))
        start = max([p.n for p in passages], default=0)
        added = []
        for hit in found.results[0].hits if found.results else []:
            added.append(Passage(n=start + len(added) + 1, document_id=hit.document_id,
                                 document_title=hit.document_title, page_number=hit.page_number,
                                 text=_without_section(hit), topic=topic, offer=hit.offer))
        passages.extend(added)
        kind = _ADD_KIND.search(request.prompt.casefold())
        grounding["addition"] = {"topic": topic, "kind": kind.group("kind") if kind else None,
                                 "passages": [p.n for p in added]}
        grounding["material"] = {"documents": found.documents}
    grounding["passages"] = [p.as_task() for p in passages]
    return grounding


# --- checks and changes --------------------------------------------------------------------


def _with_checks(markdown: str, conflicts: list[str]) -> str:
    """Conflicting figures are flagged in the section itself, above its footnotes."""
    if not conflicts:
        return markdown
    body, definitions = strip_definitions(markdown)
    note = ["", "> **Check these figures against the other sections:**",
            *[f"> - {conflict[0].upper()}{conflict[1:]}." for conflict in conflicts]]
    text = body.rstrip() + "\n" + "\n".join(note) + "\n"
    if definitions:
        text += "\n" + "\n".join(f"[^{k}]: {v}" for k, v in definitions.items()) + "\n"
    return text


def _revision_notes(markdown: str) -> list[str]:
    """The offline drafter's own list of what it changed."""
    lines = markdown.splitlines()
    if REVISION_NOTES not in lines:
        return []
    notes = []
    for line in lines[lines.index(REVISION_NOTES) + 1:]:
        if not line.startswith(">"):
            break
        if line.startswith("> - "):
            note = line[4:].rstrip(".")
            notes.append(note[:1].lower() + note[1:])
    return notes


def describe_changes(before: str, after: str) -> list[str]:
    """What a model's revision changed, measured: length, headings, footnotes."""
    old_body, _ = strip_definitions(before)
    new_body, _ = strip_definitions(after)
    old_words, new_words = len(without_markers(old_body).split()), len(without_markers(new_body).split())
    changes = [f"{'shortened' if new_words < old_words else 'lengthened' if new_words > old_words else 'kept'} "
               f"the text: {old_words} -> {new_words} words"]
    heading = re.compile(r"^#{3,6}\s+(.+)$", re.MULTILINE)
    old_h, new_h = set(heading.findall(old_body)), set(heading.findall(new_body))
    if new_h - old_h:
        changes.append("added " + ", ".join(sorted(new_h - old_h)))
    if old_h - new_h:
        changes.append("removed " + ", ".join(sorted(old_h - new_h)))
    changes.append(f"footnotes: {len(set(markers(old_body)))} before, {len(set(markers(new_body)))} after")
    return changes


def _unless_failed(next_node: str):
    def route(state: SectionState) -> str:
        return END if state.get("error") else next_node

    return route


async def _load_earlier(drafts: SessionDrafts, owner: str, session_id: str) -> dict[str, SavedSection]:
    try:
        return await drafts.load(owner, session_id)
    except Exception as exc:  # noqa: BLE001 - draft without context rather than fail the job
        log.warning("report.session_load_failed", error=repr(exc))
        return {}


def _failed(code: ErrorCode, message: str) -> SectionState:
    return {"error": JobError(error_code=code.value, message=message)}


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'params'}: {error['msg']}"
        for error in exc.errors()
    )
