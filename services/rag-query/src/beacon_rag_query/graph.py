"""The corrective RAG workflow as a LangGraph state graph.

    router ─┬─ vector_store ─> retrieve -> grade ─┬─ enough relevant ─> generate -> fact_check -> cite
            │                     ^               └─ too few (max 2) ─> rewrite ─┘
            ├─ company_data ─> company_data ─┬─ fundamentals found ─> generate ...
            │                                 └─ none ─> retrieve ...
            └─ out_of_scope ─> generate (polite refusal) -> END

Each node publishes one `node` frame when it completes; `generate` streams `token` frames.
Per-run things (frame emitter, cancel token, trace) travel in the run config, so one
compiled graph serves every query.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.answerer import (
    EXTRACTIVE_LABEL,
    ExtractiveAnswerer,
    answer_prompt,
    estimate_tokens,
)
from beacon_rag_query.domain import (
    Company,
    ErrorCode,
    Evidence,
    Passage,
    QueryFilters,
    Route,
    WorkflowTrace,
)
from beacon_rag_query.citing import citation_order
from beacon_rag_query.factcheck import FactCheck, fact_check
from beacon_rag_query.asked import FigureQuestion, read_question
from beacon_rag_query.derived import FigureAnswer, find_figures
from beacon_rag_query.frames import CancelToken, FrameEmitter, stream_batched
from beacon_rag_query.grading import (
    first_request,
    grade,
    merge_hits,
    question_terms,
    retrieval_score,
    rewrite_request,
    statement_inputs,
    statement_requests,
)
from beacon_rag_query.metrics import NODE_SECONDS
from beacon_rag_query.pages import (
    answers, pages_to_read, read_whole_pages, statement_backed, used_pages, with_statement,
)
from beacon_rag_query.periods import period_from_label
from beacon_rag_query.relevance import relevance
from beacon_rag_query.sources import CompanyCatalogue, FundamentalsSource, PassageSearch
from beacon_rag_query.text import amounts, format_inr
from beacon_rag_query.understanding import (
    CompanyMatcher,
    Understanding,
    base_name,
    understand,
)
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.instrumentation import traced_node
from beacon_runtime.llm.port import ChatModel, LLMError, LLMTimeout
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

OUT_OF_SCOPE = (
    "I can only answer questions about Nifty 50 companies: their filings, results and "
    "company data. Please ask about a listed company, a metric or a fiscal period."
)
UNSUPPORTED = (
    "The retrieved filings did not support an answer to this question, so none is given."
)
NOT_CONFIDENT = (
    "I am not confident this answers the question: the passages found do not address it "
    "directly."
)


STRONG_GRADE = 0.9


class GenerationFailed(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class GraphConfig:
    retrieve_limit: int = 8
    min_relevant: int = 2
    max_rewrites: int = 2
    max_context_passages: int = 6
    sensitive_topics: tuple[str, ...] = ()
    token_flush_chars: int = 48
    token_flush_ms: float = 30.0
    relevance_threshold: float = 0.5


@dataclass
class Deps:
    search: PassageSearch
    catalogue: CompanyCatalogue
    fundamentals: FundamentalsSource
    chat_model: ChatModel
    fallback: ChatModel = field(default_factory=ExtractiveAnswerer)
    today: Callable[[], date] = date.today
    config: GraphConfig = field(default_factory=GraphConfig)
    _matcher: tuple[int, CompanyMatcher] | None = None

    async def matcher(self) -> CompanyMatcher:
        try:
            companies = await self.catalogue.companies()
        except DependencyUnavailable as exc:
            log.warning("rag.catalogue_unavailable", error=str(exc))
            companies = []
        if self._matcher is None or self._matcher[0] != id(companies):
            self._matcher = (id(companies), CompanyMatcher(companies))
        return self._matcher[1]


@dataclass
class RunContext:
    """One query's run: where its frames go, how it is cancelled, what it measured."""

    emitter: FrameEmitter
    cancel: CancelToken
    stream: bool
    trace: WorkflowTrace = field(default_factory=WorkflowTrace)
    tokens_in: int = 0
    tokens_out: int = 0
    model: str | None = None
    clock: Callable[[], float] = time.perf_counter


class QueryState(TypedDict, total=False):
    question: str
    filters: QueryFilters | None
    understanding: Understanding
    request: SearchRequest | None
    hits: list[SearchHit]
    passages: list[Passage]
    relevant: list[Passage]
    rewrite_count: int
    evidence: list[Evidence]
    structured: list[Evidence]
    figure_question: FigureQuestion
    figures: FigureAnswer | None
    names: dict[str, str]
    answer: str
    fact: FactCheck | None
    response: str
    citations: list[dict[str, Any]]
    retrieval_score: float | None
    relevance_score: float | None


NodeBody = Callable[[QueryState, RunContext], Awaitable[tuple[QueryState, dict[str, Any]]]]


def _node(name: str, body: NodeBody):
    """Check for cancellation, run, time it, record it, publish its `node` frame; in a span
    `node {name}`."""

    async def run(state: QueryState, config) -> QueryState:
        ctx: RunContext = config["configurable"]["run"]
        ctx.cancel.check()
        started = ctx.clock()
        update, frame = await body(state, ctx)
        elapsed = ctx.clock() - started
        ctx.trace.record(name, round(elapsed * 1000, 2))
        NODE_SECONDS.labels(name).observe(elapsed)
        ctx.cancel.check()
        await ctx.emitter.node(name, **frame)
        return update

    return traced_node("rag-query", name, run)


def build_graph(deps: Deps) -> CompiledStateGraph:
    cfg = deps.config

    async def router(state: QueryState, ctx: RunContext):
        matcher = await deps.matcher()
        reading = understand(
            state["question"], state.get("filters"), matcher,
            today=deps.today(), topics=cfg.sensitive_topics,
        )
        log.info("rag.understood", route=reading.route.value, companies=list(reading.companies),
                 periods=[p.label for p in reading.periods], sensitive=list(reading.sensitive))
        names = _names(reading, matcher)
        question = read_question(reading.question, reading.companies, reading.periods,
                                 entity_words=_entity_words(reading, names, matcher),
                                 calendars=reading.calendars)
        return {"understanding": reading, "figure_question": question, "names": names,
                "rewrite_count": 0, "hits": []}, {"route": reading.route.value}

    async def company_data(state: QueryState, ctx: RunContext):
        reading = state["understanding"]
        evidence = await _fundamentals_evidence(deps, reading, await deps.matcher())
        return {"evidence": evidence, "structured": evidence}, {"periods_found": len(evidence)}

    async def retrieve(state: QueryState, ctx: RunContext):
        reading = state["understanding"]
        request = state.get("request")
        if request is None:  # the first search: the question, and its statement for a figure
            requests = [first_request(reading, cfg.retrieve_limit),
                        *statement_requests(reading, state["figure_question"], cfg.retrieve_limit)]
            hits = merge_hits(*await asyncio.gather(*(_search(deps.search, r) for r in requests)))
        else:
            hits = await _search(deps.search, request)
        return {"hits": merge_hits(state.get("hits", []), hits), "request": None}, {
            "documents_found": len(hits)
        }

    async def grade_node(state: QueryState, ctx: RunContext):
        report = grade(state.get("hits", []), state["understanding"])
        return {"passages": report.passages, "relevant": report.relevant}, {
            "relevant_count": len(report.relevant)
        }

    async def rewrite(state: QueryState, ctx: RunContext):
        attempt = state.get("rewrite_count", 0) + 1
        ctx.trace.rewrite_count = attempt
        request = rewrite_request(state["understanding"], attempt, cfg.retrieve_limit)
        return {"rewrite_count": attempt, "request": request}, {
            "rewrite_count": attempt, "relaxed_filters": not request.fiscal_periods
            and bool(state["understanding"].periods),
        }

    async def generate(state: QueryState, ctx: RunContext):
        reading = state["understanding"]
        names, question = state["names"], state["figure_question"]
        passages = _answer_passages(state, reading)
        if question.is_figure:
            passages = with_statement(passages, cfg.max_context_passages, list(statement_inputs(question)))
        evidence = state.get("evidence") or _passage_evidence(passages, cfg.max_context_passages)
        figures: FigureAnswer | None = None
        pages: list[tuple[int, int]] = []
        stream = ctx.stream and not reading.sensitive
        if reading.route is Route.OUT_OF_SCOPE:
            answer, evidence = OUT_OF_SCOPE, []
            await _say(answer, ctx, stream)
        elif not evidence:
            answer = _not_found(reading)
            await _say(answer, ctx, stream)
        else:
            figures = _figures(question, evidence, names)
            # A figure read off a sentence or a note is checked against the statement pages
            # ranked: the discussion rounds ("€3.3 million") what the statement prints.
            if question.is_figure and (not answers(figures) or not statement_backed(figures, evidence)):
                pages = pages_to_read(evidence, reading.companies)
                extra = await _read_pages(deps.search, reading.question, evidence, pages)
                if extra:
                    figures = _figures(question, [*evidence, *extra], names)
                    evidence = [*evidence, *used_pages(figures, extra)]
            focus = [v for p in reading.periods for v in p.text_variants()]
            prompt = answer_prompt(reading.question, evidence, focus, question_terms(reading),
                                   figures=figures, names=names,
                                   not_found=_not_found(reading))
            answer = await _generate(deps, ctx, prompt, stream, cfg)
        return {
            "answer": answer, "evidence": evidence, "figures": figures,
            "retrieval_score": retrieval_score(state.get("relevant", [])),
        }, {"generation_attempts": ctx.trace.generation_attempts,
            "figures_found": len(figures.figures) + len(figures.computations) if figures else 0,
            "pages_read": len(pages)}

    async def fact_check_node(state: QueryState, ctx: RunContext):
        reading, answer = state["understanding"], state["answer"]
        structured = state.get("structured") or []
        if not structured and amounts(answer) and reading.companies:
            structured = await _structured_for_reconciling(deps, reading)
        fact = fact_check(answer, state["evidence"], structured=structured,
                          ignore=[EXTRACTIVE_LABEL], company_names=state.get("names"))
        response = fact.response
        if not response or response == EXTRACTIVE_LABEL:
            response = UNSUPPORTED
        by_index = {e.index: e for e in state["evidence"]}
        cited = [by_index[i] for i in fact.support if i in by_index]
        question = state["figure_question"]
        score = relevance(question, fact, cited,
                          company_names=list((state.get("names") or {}).values()))
        confident = score is None or score >= cfg.relevance_threshold
        if not confident:
            response = f"{NOT_CONFIDENT} {response}"
        return {"fact": fact, "response": response, "relevance_score": score}, {
            "faithfulness_score": fact.faithfulness_score,
            "unsupported_sentences": len(fact.unsupported),
            "relevance_score": score,
            "confident": confident,
        }

    async def cite(state: QueryState, ctx: RunContext):
        order = citation_order(state["response"], state["fact"], state["evidence"],
                               company_names=state.get("names"))
        by_index = {e.index: e for e in state["evidence"]}
        citations = [by_index[i].citation() for i in order]
        return {"citations": citations}, {"citation_count": len(citations)}

    graph = StateGraph(QueryState)
    graph.add_node("router", _node("router", router))
    graph.add_node("company_data", _node("company_data", company_data))
    graph.add_node("retrieve", _node("retrieve", retrieve))
    graph.add_node("grade", _node("grade", grade_node))
    graph.add_node("rewrite", _node("rewrite", rewrite))
    graph.add_node("generate", _node("generate", generate))
    graph.add_node("fact_check", _node("fact_check", fact_check_node))
    graph.add_node("cite", _node("cite", cite))

    def after_router(state: QueryState) -> str:
        return {
            Route.VECTOR_STORE: "retrieve",
            Route.COMPANY_DATA: "company_data",
            Route.OUT_OF_SCOPE: "generate",
        }[state["understanding"].route]

    def after_company_data(state: QueryState) -> str:
        return "generate" if state.get("evidence") else "retrieve"

    def after_grade(state: QueryState) -> str:
        relevant = state.get("relevant", [])
        # One passage that matches every term, the company and the period is enough.
        if len(relevant) >= cfg.min_relevant or any(p.grade >= STRONG_GRADE for p in relevant):
            return "generate"
        return "rewrite" if state.get("rewrite_count", 0) < cfg.max_rewrites else "generate"

    def after_generate(state: QueryState) -> str:
        return "fact_check" if state.get("evidence") else END

    graph.add_edge(START, "router")
    graph.add_conditional_edges("router", after_router, ["retrieve", "company_data", "generate"])
    graph.add_conditional_edges("company_data", after_company_data, ["generate", "retrieve"])
    graph.add_edge("retrieve", "grade")
    graph.add_conditional_edges("grade", after_grade, ["generate", "rewrite"])
    graph.add_edge("rewrite", "retrieve")
    graph.add_conditional_edges("generate", after_generate, ["fact_check", END])
    graph.add_edge("fact_check", "cite")
    graph.add_edge("cite", END)
    return graph.compile(name="rag-query")


async def _search(search: PassageSearch, request: SearchRequest) -> list[SearchHit]:
    """A comparison ("TCS and Infosys") searches each company on its own, so one company's
    passages cannot crowd the other's out of the top results."""
    if len(request.company_symbols) < 2:
        return await search.search(request)
    share = max(3, request.limit // len(request.company_symbols))
    batches = await asyncio.gather(*(
        search.search(request.model_copy(update={"company_symbols": [symbol], "limit": share}))
        for symbol in request.company_symbols
    ))
    return merge_hits(*batches)


# ---- generation --------------------------------------------------------------------------


async def _generate(deps: Deps, ctx: RunContext, prompt, stream: bool, cfg: GraphConfig) -> str:
    """The configured model; if it fails before a single token reached the client, the
    extractive answerer answers instead (a second generation attempt)."""
    models = [deps.chat_model]
    if deps.fallback is not deps.chat_model:
        models.append(deps.fallback)
    for attempt, model in enumerate(models, start=1):
        ctx.trace.generation_attempts = attempt
        ctx.model = model.name
        try:
            if stream:
                text = await stream_batched(
                    model.stream(prompt), ctx.emitter.token, cancel=ctx.cancel,
                    max_chars=cfg.token_flush_chars, max_age_s=cfg.token_flush_ms / 1000,
                )
                ctx.tokens_in += estimate_tokens(prompt.system + prompt.user)
                ctx.tokens_out += estimate_tokens(text)
            else:
                completion = await model.complete(prompt)
                text = completion.text
                ctx.tokens_in += completion.input_tokens or estimate_tokens(prompt.system + prompt.user)
                ctx.tokens_out += completion.output_tokens or estimate_tokens(text)
        except LLMError as exc:
            code = ErrorCode.LLM_TIMEOUT if isinstance(exc, LLMTimeout) else ErrorCode.LLM_ERROR
            log.warning("rag.llm_failed", model=model.name, error=str(exc),
                        streamed_chars=ctx.emitter.token_chars)
            if ctx.emitter.token_chars or model is models[-1]:
                raise GenerationFailed(code, "The language model request failed.") from exc
            continue
        if text.strip():
            return text
        if model is models[-1]:
            raise GenerationFailed(ErrorCode.LLM_ERROR, "The language model returned no text.")
    raise AssertionError("unreachable")


async def _say(text: str, ctx: RunContext, stream: bool) -> None:
    """A fixed answer (refusal, nothing found) goes to the client like a generated one."""
    ctx.trace.generation_attempts = max(ctx.trace.generation_attempts, 1)
    ctx.tokens_out += estimate_tokens(text)
    if stream:
        ctx.cancel.check()
        await ctx.emitter.token(text)


def _not_found(reading: Understanding) -> str:
    scope = ", ".join(reading.company_names or reading.companies)
    periods = ", ".join(p.label for p in reading.periods)
    detail = (f" for {scope}" if scope else "") + (f" ({periods})" if periods else "")
    return f"I could not find this in the indexed filings{detail}."


def _answer_passages(state: QueryState, reading: Understanding) -> list[Passage]:
    """The relevant passages, then the other graded passages of the asked companies: a
    statement page often grades low on words ("Revenues 20,158 19,277") yet holds the
    figure. The answerer decides whether any of them answers; it says it found nothing
    only when none does."""
    relevant = list(state.get("relevant", []))
    chosen = {p.key for p in relevant}
    wanted = set(reading.companies)
    others = [p for p in state.get("passages", [])
              if p.key not in chosen and p.grade > 0
              and (not wanted or p.hit.company_symbol in wanted)]
    return relevant + others


async def _read_pages(search: PassageSearch, query: str, evidence: Sequence[Evidence],
                      pages: Sequence[tuple[int, int]]) -> list[Evidence]:
    """Best effort: without the rest of the pages the figure is read from the ranked chunks."""
    if not pages:
        return []
    try:
        return await read_whole_pages(search, query, evidence, pages)
    except DependencyUnavailable:
        log.warning("rag.pages_unavailable", pages=len(pages))
        return []


def _names(reading: Understanding, matcher: CompanyMatcher) -> dict[str, str]:
    return {s: base_name(matcher.companies[s].name) for s in reading.companies
            if s in matcher.companies}


def _figures(question: FigureQuestion, evidence: Sequence[Evidence], names: dict[str, str]) -> FigureAnswer | None:
    """Reading figures is best effort: a page it cannot read leaves the answer to quoting."""
    try:
        return find_figures(question, evidence, names)
    except Exception:  # noqa: BLE001 - a parser bug must not fail the query
        log.exception("rag.figures_failed")
        return None


def _entity_words(reading: Understanding, names: dict[str, str], matcher: CompanyMatcher) -> list[str]:
    """Words that name the asked companies: names, symbols, and any word of the question that
    names one on its own ("RIL", "Infy")."""
    words = [*names.values(), *(s.replace(".", " ") for s in reading.companies)]
    for token in re.findall(r"[A-Za-z&]+", reading.question):
        if matcher.find(token):
            words.append(token)
    return words


def _passage_evidence(passages: Sequence[Passage], limit: int) -> list[Evidence]:
    return [
        Evidence(
            index=i, text=p.hit.text, document_id=p.hit.document_id,
            document_title=p.hit.document_title, page_number=p.hit.page_number,
            company_symbol=p.hit.company_symbol, fiscal_period=p.hit.fiscal_period, score=p.grade,
            section=p.hit.section,
        )
        for i, p in enumerate(passages[:limit], start=1)
    ]


# ---- structured company data ---------------------------------------------------------


async def _fundamentals_evidence(
    deps: Deps, reading: Understanding, matcher: CompanyMatcher
) -> list[Evidence]:
    evidence: list[Evidence] = []
    for symbol in reading.companies[:2]:
        rows = await deps.fundamentals.fundamentals(symbol)
        company = matcher.companies.get(symbol)
        for row in _rows_for(rows, reading):
            evidence.append(_describe(row, company, symbol, len(evidence) + 1))
    return evidence


async def _structured_for_reconciling(deps: Deps, reading: Understanding) -> list[Evidence]:
    try:
        return await _fundamentals_evidence(deps, reading, await deps.matcher())
    except DependencyUnavailable as exc:
        log.warning("rag.fundamentals_unavailable", error=str(exc))
        return []


def _rows_for(rows: list[dict[str, Any]], reading: Understanding) -> list[dict[str, Any]]:
    if reading.periods:
        chosen = []
        for row in rows:
            period = period_from_label(str(row.get("period") or ""))
            if period is not None and any(p == period for p in reading.periods):
                chosen.append(row)
        return chosen
    latest = sorted(rows, key=lambda r: str(r.get("period_end_date") or ""), reverse=True)
    return latest[:1]


def _describe(row: dict[str, Any], company: Company | None, symbol: str, index: int) -> Evidence:
    name = base_name(company.name) if company else symbol
    period = row.get("period") or "the latest period"
    facts = []
    for key, label, render in (
        ("revenue", "revenue", format_inr),
        ("net_income", "net income", format_inr),
        ("eps", "earnings per share (EPS)", lambda v: f"₹{float(v):.2f}"),
        ("pe_ratio", "price to earnings (P/E) ratio", lambda v: f"{float(v):.1f}"),
        ("roe", "return on equity (ROE)", lambda v: f"{float(v) * 100:.1f}%"),
        ("debt_to_equity", "debt to equity ratio", lambda v: f"{float(v):.2f}"),
        ("market_cap", "market capitalisation", format_inr),
    ):
        value = row.get(key)
        if value is not None:
            facts.append(f"The {label} of {name} for {period} was {render(float(value))}.")
    ended = row.get("period_end_date")
    if ended:
        facts.append(f"The {row.get('period_type') or 'reporting'} period {period} ended on {ended}.")
    return Evidence(
        index=index, text=" ".join(facts), document_id=None,
        document_title=f"{name}: company fundamentals ({period})", page_number=None,
        company_symbol=symbol, fiscal_period=row.get("period"), score=1.0,
    )
