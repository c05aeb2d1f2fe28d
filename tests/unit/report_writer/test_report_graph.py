"""The section pipeline with the offline drafter and in-memory session drafts."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable

import pytest

from beacon_contracts.material import (
    MaterialHit,
    MaterialNeighbour,
    MaterialResults,
    MaterialSearchRequest,
    MaterialSearchResponse,
)
from beacon_contracts.report_api import GenerateRequest, RefineRequest
from beacon_report_writer.drafter import OFFLINE_LABEL, OfflineDrafter
from beacon_report_writer.graph import build_graph
from beacon_report_writer.repository import InMemorySessionDrafts, SavedSection, SessionDrafts
from beacon_report_writer.sources import MaterialSource
from beacon_runtime.llm.port import ChatModel, Completion, LLMError, LLMTimeout, Prompt

BASE = {"type": "Feasibility_report", "customer_id": "ACME", "opportunity_id": "OPP-1"}


class ScriptedModel(ChatModel):
    """Answers with `reply(prompt)`, or raises what it returns if that is an exception."""

    name = "scripted"

    def __init__(self, reply: Callable[[Prompt], str | Exception]) -> None:
        self.reply = reply
        self.prompts: list[Prompt] = []

    async def complete(self, prompt: Prompt) -> Completion:
        self.prompts.append(prompt)
        answer = self.reply(prompt)
        if isinstance(answer, Exception):
            raise answer
        return Completion(text=answer, model=self.name)

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        yield (await self.complete(prompt)).text


class BrokenDrafts(SessionDrafts):
    async def load(self, owner, session_id):
        raise ConnectionError("redis is down")

    async def save(self, owner, session_id, section_title, section):
        raise ConnectionError("redis is down")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _decode(state: dict, field: str) -> str:
    return base64.b64decode(state["result"][field]).decode()


async def _run(graph, kind: str, *, session_id: str | None = None, owner: str = "key:1", **fields) -> dict:
    """The graph as the handler runs it: with the command's (already checked) request."""
    request_type = RefineRequest if kind == "refine" else GenerateRequest
    request = request_type.model_validate({**BASE, **fields})
    return await graph.ainvoke({"request": request, "session_id": session_id, "owner": owner})


async def test_generate_produces_a_labelled_section_under_its_canonical_heading():
    graph = build_graph(OfflineDrafter(), InMemorySessionDrafts())
    state = await _run(graph, "generate", session_id="s1", section_title="cost benefit analysis")
    assert "error" not in state
    result = state["result"]
    assert set(result) == {
        "customer_id",
        "opportunity_id",
        "section_title",
        "generated_section_b64",
        "citations",
    }
    assert result["citations"] == []  # no material: an outline, nothing to cite
    assert result["section_title"] == "Cost-Benefit Analysis"
    assert (result["customer_id"], result["opportunity_id"]) == ("ACME", "OPP-1")
    markdown = _decode(state, "generated_section_b64")
    assert markdown.startswith(f"## Cost-Benefit Analysis\n\n{OFFLINE_LABEL}")
    assert "### Payback and return" in markdown


async def test_refine_returns_the_revised_section_with_the_instruction_applied():
    graph = build_graph(OfflineDrafter(), InMemorySessionDrafts())
    original = "## Risk Assessment\n\nCosts may rise. Staff may leave.\n"
    state = await _run(
        graph,
        "refine",
        session_id="s1",
        section_title="Risk Assessment",
        original_text=_b64(original),
        prompt="Turn this into bullet points",
    )
    assert "error" not in state
    assert "generated_section_b64" not in state["result"]
    markdown = _decode(state, "refined_section_b64")
    assert markdown.startswith(f"## Risk Assessment\n\n{OFFLINE_LABEL}")
    assert '> Requested change: "Turn this into bullet points"' in markdown
    assert "- Costs may rise.\n- Staff may leave.\n" in markdown


async def test_later_sections_get_earlier_ones_of_the_same_session_as_context():
    drafts = InMemorySessionDrafts()
    model = ScriptedModel(lambda p: f"Text of {p.task['section_title']}. More.")
    graph = build_graph(model, drafts)
    await _run(graph, "generate", session_id="s1", section_title="Executive Summary")
    await _run(graph, "generate", session_id="other", section_title="Appendix")
    await _run(graph, "generate", session_id="s1", owner="key:2", section_title="Appendix")
    await _run(graph, "generate", session_id="s1", section_title="Risk Assessment")
    await _run(graph, "generate", session_id="s1", section_title="Executive Summary")

    first, _, other_key, third, fourth = model.prompts
    assert other_key.task["earlier_sections"] == {}  # same Session-Id, another key: nothing
    assert first.task["earlier_sections"] == {}
    assert third.task["earlier_sections"] == {
        "Executive Summary": "## Executive Summary\n\nText of Executive Summary. More.\n"
    }
    assert '<section title="Executive Summary">' in third.user
    assert "Appendix" not in third.user  # another session
    assert list(fourth.task["earlier_sections"]) == ["Risk Assessment"]  # never itself
    assert set(await drafts.load("key:1", "s1")) == {"Executive Summary", "Risk Assessment"}
    assert set(await drafts.load("key:2", "s1")) == {"Appendix"}


async def test_without_a_session_id_nothing_is_remembered():
    drafts = InMemorySessionDrafts()
    graph = build_graph(OfflineDrafter(), drafts)
    state = await _run(graph, "generate", section_title="Appendix")
    assert "result" in state and state["session_id"] is None


async def test_unavailable_session_store_costs_context_not_the_job():
    graph = build_graph(OfflineDrafter(), BrokenDrafts())
    state = await _run(graph, "generate", session_id="s1", section_title="Appendix")
    assert "error" not in state
    assert _decode(state, "generated_section_b64").startswith("## Appendix\n")


async def test_model_answer_is_unfenced_and_gets_the_canonical_heading():
    model = ScriptedModel(lambda p: "```markdown\n# STAKEHOLDER ANALYSIS\n\nBoard, users.\n```")
    graph = build_graph(model, InMemorySessionDrafts())
    state = await _run(graph, "generate", section_title="Stakeholder Analysis")
    assert state["markdown"] == "## Stakeholder Analysis\n\nBoard, users.\n"
    assert _decode(state, "generated_section_b64") == state["markdown"]


async def test_refine_prompt_carries_original_and_instruction():
    model = ScriptedModel(lambda p: "Revised.")
    graph = build_graph(model, InMemorySessionDrafts())
    await _run(
        graph,
        "refine",
        section_title="Appendix",
        original_text=_b64("Old text."),
        prompt="Add a glossary",
    )
    prompt = model.prompts[0]
    assert prompt.task["mode"] == "refine"
    assert prompt.task["original_markdown"] == "Old text."
    assert "<current>\nOld text.\n</current>" in prompt.user
    assert "Add a glossary" in prompt.user


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (LLMTimeout("slow"), "LLM_TIMEOUT"),
        (LLMError("500"), "LLM_ERROR"),
        ("   \n", "LLM_ERROR"),
    ],
)
async def test_model_failures_end_the_run_with_their_error_code(failure, code):
    drafts = InMemorySessionDrafts()
    graph = build_graph(ScriptedModel(lambda p: failure), drafts)
    state = await _run(graph, "generate", session_id="s1", section_title="Appendix")
    assert state["error"].error_code == code
    assert "result" not in state
    assert await drafts.load("key:1", "s1") == {}


async def test_unexpected_errors_propagate():
    graph = build_graph(ScriptedModel(lambda p: RuntimeError("bug")), InMemorySessionDrafts())
    with pytest.raises(RuntimeError, match="bug"):
        await _run(graph, "generate", section_title="Appendix")


async def test_session_drafts_expire():
    now = [0.0]
    drafts = InMemorySessionDrafts(ttl_s=10, clock=lambda: now[0])
    a, r = SavedSection("a", [{"index": 1}]), SavedSection("r")
    await drafts.save("key:1", "s", "Appendix", a)
    now[0] = 9.0
    await drafts.save("key:1", "s", "Recommendations", r)  # restarts the session's time to live
    now[0] = 18.0
    assert await drafts.load("key:1", "s") == {"Appendix": a, "Recommendations": r}
    assert await drafts.load("key:2", "s") == {}  # sessions are per key
    now[0] = 19.5
    assert await drafts.load("key:1", "s") == {}


async def test_a_figure_contradicting_an_earlier_section_of_the_session_is_flagged():
    answers = {"Executive Summary": "## Executive Summary\n\nThe platform guarantees 99.9% uptime.\n",
               "Risk Assessment": "## Risk Assessment\n\nA risk: the platform only reaches 99.5% uptime.\n"}
    graph = build_graph(ScriptedModel(lambda p: answers[p.task["section_title"]]), InMemorySessionDrafts())
    first = await _run(graph, "generate", session_id="s1", section_title="Executive Summary")
    assert first["result"].get("flags") is None
    second = await _run(graph, "generate", session_id="s1", section_title="Risk Assessment")
    conflict = "figures disagree on 'uptime': 99.5% here, 99.9% in Executive Summary"
    assert second["result"]["flags"] == [conflict]
    assert f"> - F{conflict[1:]}." in _decode(second, "generated_section_b64")
    # Another session of the same owner has no earlier section to disagree with.
    other = await _run(graph, "generate", session_id="s2", section_title="Risk Assessment")
    assert other["result"].get("flags") is None


class OneHitSource(MaterialSource):
    """Every query finds the same chunk (page 5), whose neighbours the search returns."""

    def __init__(self) -> None:
        self.requests: list[MaterialSearchRequest] = []

    async def search(self, owner, request):
        self.requests.append(request)
        previous = MaterialNeighbour(chunk_id="c7", chunk_index=7, page_number=4,
                                     text="Tenders close on 1 March. The gateway must encrypt card data with")
        following = MaterialNeighbour(chunk_id="c9", chunk_index=9, page_number=6,
                                      text="Settlement runs daily at midnight for every merchant.")
        hit = MaterialHit(chunk_id="c8", document_id=3, document_title="RFP", page_number=5,
                          text="TLS 1.2 or higher at every hop. Card data encryption keys rotate yearly.",
                          score=1.0, offer=False, chunk_index=8, previous=previous if request.neighbours else None,
                          next=following if request.neighbours else None)
        return MaterialSearchResponse(documents=1, results=[
            MaterialResults(query=q, hits=[hit]) for q in request.queries])


async def test_a_hit_opening_inside_a_sentence_is_joined_with_the_chunk_before_and_cites_both():
    source = OneHitSource()
    graph = build_graph(OfflineDrafter(), InMemorySessionDrafts(), source)
    state = await _run(graph, "generate", section_title="Security & Compliance", type="Technical_scope")
    assert source.requests[0].neighbours is True
    # The chunk before completes a cut sentence and is sent; the one after completes
    # nothing (the hit ends with a whole sentence) and is not.
    assert sorted(p["page_number"] for p in state["grounding"]["passages"]) == [4, 5]
    markdown = _decode(state, "generated_section_b64")
    line = next(l for l in markdown.splitlines() if "The gateway must encrypt card data with TLS 1.2" in l)
    cited = {c["index"]: c["page_number"] for c in state["result"]["citations"]}
    assert line.endswith("at every hop.[^1][^2]") and (cited[1], cited[2]) == (4, 5)
    assert "Tenders close" not in markdown  # the rest of the chunk before was not retrieved


class RankedSource(MaterialSource):
    """Hits ranked per query: the hinted query and the plain topic each find their own."""

    def __init__(self) -> None:
        self.requests: list[MaterialSearchRequest] = []

    async def search(self, owner, request):
        self.requests.append(request)

        def hit(n: int) -> MaterialHit:
            return MaterialHit(chunk_id=f"c{n}", document_id=3, document_title="RFP", page_number=n,
                               text=f"Statement {n} of the tender is here.", score=1.0, offer=False, chunk_index=n)

        ranked = {True: [hit(1), hit(2), hit(3)], False: [hit(4), hit(2), hit(5)]}
        return MaterialSearchResponse(documents=1, results=[
            MaterialResults(query=q, hits=ranked[" " in q.removeprefix("Identity and access")])
            for q in request.queries])


async def test_each_topic_is_searched_with_and_without_its_hints_and_the_hits_fused():
    source = RankedSource()
    graph = build_graph(OfflineDrafter(), InMemorySessionDrafts(), source, passages_per_topic=3)
    state = await _run(graph, "generate", section_title="Security & Compliance", type="Technical_scope")
    queries = source.requests[0].queries
    assert "Identity and access" in queries  # the topic's own words alone
    assert any(q.startswith("Identity and access ") and "authentication" in q for q in queries)
    assert len(queries) == 8  # four topics, two queries each
    identity = state["grounding"]["topics"][0]
    assert identity["topic"] == "Identity and access"
    pages = {p["n"]: p["page_number"] for p in state["grounding"]["passages"]}
    # Page 2 is second for both queries: it leads; then the two firsts, before the thirds.
    assert [pages[n] for n in identity["passages"]][0] == 2
    assert sorted(pages[n] for n in identity["passages"]) == [1, 2, 4]
    assert "authentication" in identity["terms"]  # the hints still choose its sentences
