"""The section pipeline as a LangGraph state graph.

    prepare -> draft -> finalize -> remember
       |         |
                 +--> END with `error` set (the model failed)

The command was checked by the runtime's dispatcher. Expected failures (the model's)
end the run with a JobError in the state; anything else raises and is the
handler's business.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from beacon_contracts.events import JobError
from beacon_contracts.report_api import GenerateRequest, RefineRequest, SectionResult
from beacon_report_writer.domain import ErrorCode, encode_b64, normalize_section
from beacon_report_writer.prompts import section_prompt
from beacon_report_writer.repository import SessionDrafts
from beacon_runtime.llm.port import ChatModel, LLMError, LLMTimeout
from beacon_runtime.logs import get_logger

log = get_logger(__name__)


class SectionState(TypedDict, total=False):
    request: GenerateRequest  # a RefineRequest for refine jobs; the command's, checked
    session_id: str | None
    earlier_sections: dict[str, str]
    draft: str  # the model's answer as received
    markdown: str  # the normalised section
    result: dict[str, Any]  # SectionResult.public(), the job's result
    error: JobError


def build_graph(chat_model: ChatModel, drafts: SessionDrafts) -> CompiledStateGraph:
    async def prepare(state: SectionState) -> SectionState:
        session_id = state.get("session_id")
        earlier = await _load_earlier(drafts, session_id) if session_id else {}
        return {"earlier_sections": earlier}

    async def draft(state: SectionState) -> SectionState:
        prompt = section_prompt(state["request"], state.get("earlier_sections", {}))
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
        )
        return {"draft": completion.text}

    async def finalize(state: SectionState) -> SectionState:
        request = state["request"]
        markdown = normalize_section(state["draft"], request.type, request.section_title)
        field = (
            "refined_section_b64"
            if isinstance(request, RefineRequest)
            else ("generated_section_b64")
        )
        result = SectionResult(
            customer_id=request.customer_id,
            opportunity_id=request.opportunity_id,
            section_title=request.section_title,
            **{field: encode_b64(markdown)},
        )
        return {"markdown": markdown, "result": result.public()}

    async def remember(state: SectionState) -> SectionState:
        session_id = state.get("session_id")
        if session_id:
            title = state["request"].section_title
            try:
                await drafts.save(session_id, title, state["markdown"])
            except Exception as exc:  # noqa: BLE001 - context is optional, the draft is not
                log.warning("report.session_save_failed", error=repr(exc))
        return {}

    graph = StateGraph(SectionState)
    graph.add_node("prepare", prepare)
    graph.add_node("draft", draft)
    graph.add_node("finalize", finalize)
    graph.add_node("remember", remember)
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", _unless_failed("draft"), ["draft", END])
    graph.add_conditional_edges("draft", _unless_failed("finalize"), ["finalize", END])
    graph.add_edge("finalize", "remember")
    graph.add_edge("remember", END)
    return graph.compile(name="report-section")


def _unless_failed(next_node: str):
    def route(state: SectionState) -> str:
        return END if state.get("error") else next_node

    return route


async def _load_earlier(drafts: SessionDrafts, session_id: str) -> dict[str, str]:
    try:
        return await drafts.load(session_id)
    except Exception as exc:  # noqa: BLE001 - draft without context rather than fail the job
        log.warning("report.session_load_failed", error=repr(exc))
        return {}


def _failed(code: ErrorCode, message: str) -> SectionState:
    return {"error": JobError(error_code=code.value, message=message)}

