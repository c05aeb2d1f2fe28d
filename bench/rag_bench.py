"""Retrieval quality and per-node latency of the rag-query workflow.

    uv run python bench/rag_bench.py                 # self-made labelled set (below)
    uv run python bench/rag_bench.py --ingestion     # the ingestion service's sample corpus

No public financial QA set is available offline from PyPI here, so the default run uses a
SMALL, SELF-MADE labelled set: a generated corpus of filing pages (companies x fiscal years x
topics, with figures of the previous year restated on every page, as filings do) and
questions whose answer is on one known page. It measures what FACTS.md says matters most —
finding the right company and period — and nothing about real-world prose. Treat its numbers
as a regression check, not as a quality claim.

Reported, in the same run over the same passages:
  * plain BM25 on the question, no filters (the baseline);
  * BM25 with the filters our query understanding derives (company, fiscal period);
  * the workflow's retrieve -> grade (-> rewrite) ranking, top 5 after grading;
  * the full graph with the offline extractive answerer: whether the answer quotes the gold
    figure and cites the gold page, faithfulness, and latency per node.
Token-to-client latency is measured by the gateway's benchmark, not here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from beacon_contracts.events import Envelope, JobKind, JobRequested
from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.domain import Company, Route
from beacon_rag_query.frames import CancelRegistry, FrameEmitter
from beacon_rag_query.grading import first_request, grade
from beacon_rag_query.graph import Deps, RunContext, build_graph
from beacon_rag_query.periods import FiscalPeriod
from beacon_rag_query.sources import (
    InMemoryCatalogue,
    InMemoryFundamentals,
    InMemoryPassageSearch,
    PassageSearch,
)
from beacon_rag_query.text import indian_grouping
from beacon_rag_query.understanding import CompanyMatcher, understand
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.logs import configure_logging

TODAY = date(2024, 11, 25)
K = 5

COMPANIES = [
    Company("RELIANCE.NS", "Reliance Industries Ltd.", "RELIANCE", "Energy"),
    Company("TCS.NS", "Tata Consultancy Services Ltd.", "TCS", "Information Technology"),
    Company("INFY.NS", "Infosys Ltd.", "INFY", "Information Technology"),
    Company("HDFCBANK.NS", "HDFC Bank Ltd.", "HDFCBANK", "Financial Services"),
    Company("ICICIBANK.NS", "ICICI Bank Ltd.", "ICICIBANK", "Financial Services"),
    Company("ITC.NS", "ITC Ltd.", "ITC", "FMCG"),
    Company("LT.NS", "Larsen & Toubro Ltd.", "LT", "Construction"),
    Company("SBIN.NS", "State Bank of India", "SBIN", "Financial Services"),
    Company("BHARTIARTL.NS", "Bharti Airtel Ltd.", "BHARTIARTL", "Telecommunication"),
    Company("HINDUNILVR.NS", "Hindustan Unilever Ltd.", "HINDUNILVR", "FMCG"),
]
SPOKEN = {  # how a user might name each company
    "RELIANCE.NS": ["Reliance", "RIL"], "TCS.NS": ["TCS", "Tata Consultancy Services"],
    "INFY.NS": ["Infosys", "Infy"], "HDFCBANK.NS": ["HDFC Bank"], "ICICIBANK.NS": ["ICICI Bank"],
    "ITC.NS": ["ITC"], "LT.NS": ["L&T", "Larsen & Toubro"], "SBIN.NS": ["SBI", "State Bank of India"],
    "BHARTIARTL.NS": ["Airtel", "Bharti Airtel"], "HINDUNILVR.NS": ["HUL", "Hindustan Unilever"],
}
YEARS = [2022, 2023, 2024]

# topic -> (page, sentence template with {fy} {value} {prev} {prev_fy}, question template)
TOPICS = {
    "revenue": (45, "Revenue from operations for {fy} was ₹{value} crore, compared with ₹{prev} "
                    "crore in {prev_fy}.", "What was {co}'s revenue from operations in {period}?"),
    "profit": (46, "Net profit for {fy} stood at ₹{value} crore against ₹{prev} crore in "
                   "{prev_fy}.", "What was the net profit of {co} in {period}?"),
    "ebitda": (47, "EBITDA for the year {fy} was ₹{value} crore; it was ₹{prev} crore in "
                   "{prev_fy}.", "How much EBITDA did {co} report for {period}?"),
    "capex": (60, "Capital expenditure during {fy} amounted to ₹{value} crore, up from "
                  "₹{prev} crore in {prev_fy}.", "What was {co}'s capital expenditure in {period}?"),
    "employees": (72, "The Company had {value} employees at the end of {fy}, compared with "
                      "{prev} a year earlier.", "How many employees did {co} have at the end of {period}?"),
    "dividend": (15, "The Board recommended a final dividend of ₹{small} per share for {fy}; "
                     "the dividend for {prev_fy} was ₹{small_prev} per share.",
                 "What dividend per share did {co} recommend for {period}?"),
    "borrowings": (98, "Total borrowings as at the end of {fy} were ₹{value} crore, against "
                       "₹{prev} crore at the end of {prev_fy}.", "What were {co}'s total borrowings at the end of {period}?"),
}
# Ways users ask that share few words with the page (turnover, PAT, headcount...).
PARAPHRASES = {
    "revenue": ["What was the turnover of {co} in {period}?", "{co} sales {period}"],
    "profit": ["What was {co}'s PAT for {period}?", "How much did {co} earn after tax in {period}?"],
    "ebitda": ["{co} operating profit before depreciation {period}"],
    "capex": ["How much did {co} invest in capex during {period}?"],
    "employees": ["What was the headcount of {co} in {period}?", "{co} workforce size {period}"],
    "dividend": ["{co} final dividend {period}"],
    "borrowings": ["How much debt did {co} have at the end of {period}?"],
}
FILLER = [
    "The Board of Directors met six times during {fy} and reviewed the strategy of the "
    "Company, its risks and the performance of each business.",
    "Our sustainability programme reduced water use and emissions during {fy}, and the "
    "Company continued to invest in its communities.",
    "The Audit Committee reviewed the financial statements for {fy} and the internal "
    "controls over financial reporting.",
]


def period_forms(fy: int) -> list[str]:
    return [f"FY{fy}", f"FY{fy % 100}", f"fiscal {fy}", f"{fy - 1}-{fy % 100}"]


@dataclass(frozen=True)
class Question:
    text: str
    document_id: int
    page: int
    figure: str


def build_corpus(seed: int = 7) -> tuple[list[SearchHit], list[Question]]:
    rng = random.Random(seed)
    passages: list[SearchHit] = []
    questions: list[Question] = []
    document_id = 1000
    for company in COMPANIES:
        base = {t: rng.randint(5_000, 9_00_000) for t in TOPICS}
        for fy in YEARS:
            document_id += 1
            title = f"{company.name.replace(' Ltd.', '')} Annual Report FY{fy}"
            growth = 1 + rng.uniform(-0.05, 0.2)
            highlights: list[str] = []
            for topic, (page, template, question) in TOPICS.items():
                value = round(base[topic] * growth * (1 + 0.1 * (fy - 2022)))
                prev = round(value / (1 + rng.uniform(0.02, 0.2)))
                small, small_prev = rng.randint(2, 40), rng.randint(2, 40)
                text = template.format(fy=f"FY{fy}", prev_fy=f"FY{fy - 1}",
                                       value=indian_grouping(value), prev=indian_grouping(prev),
                                       small=small, small_prev=small_prev)
                passages.append(SearchHit(
                    chunk_id=f"{document_id}-{page}", document_id=document_id,
                    document_title=title, company_symbol=company.symbol,
                    doc_type="annual_report", fiscal_period=f"FY{fy}", page_number=page,
                    text=text, score=0))
                figure = f"₹{small}" if topic == "dividend" else indian_grouping(value)
                highlights.append(f"{topic} ₹{indian_grouping(value)}" if topic != "employees"
                                  else f"{indian_grouping(value)} employees")
                spoken = rng.choice(SPOKEN[company.symbol])
                form = rng.choice(period_forms(fy))
                asked = rng.choice([question, *PARAPHRASES[topic]])
                questions.append(Question(asked.format(co=spoken, period=form), document_id,
                                          page, figure))
            # A highlights page names every topic of the year and the one before it: a
            # lexically strong distractor that holds no full sentence of the answer.
            passages.append(SearchHit(
                chunk_id=f"{document_id}-h", document_id=document_id, document_title=title,
                company_symbol=company.symbol, doc_type="annual_report", fiscal_period=f"FY{fy}",
                page_number=3, score=0,
                text=f"Highlights of FY{fy} and FY{fy - 1}: revenue, net profit, EBITDA, capital "
                     f"expenditure, employees, dividend per share and borrowings are discussed "
                     f"in the financial review of {company.name}."))
            for i, filler in enumerate(FILLER):
                passages.append(SearchHit(
                    chunk_id=f"{document_id}-f{i}", document_id=document_id, document_title=title,
                    company_symbol=company.symbol, doc_type="annual_report",
                    fiscal_period=f"FY{fy}", page_number=5 + i, text=filler.format(fy=f"FY{fy}"),
                    score=0))
    rng.shuffle(questions)
    return passages, questions


def hit_at_k(hits: list[SearchHit], q: Question, k: int = K) -> bool:
    return any(h.document_id == q.document_id and h.page_number == q.page for h in hits[:k])


async def measure(search: PassageSearch, bm25: InMemoryPassageSearch, companies: list[Company],
                  questions: list[Question]) -> dict:
    matcher = CompanyMatcher(companies)
    plain = filtered = graded = 0
    for q in questions:
        reading = understand(q.text, None, matcher, today=TODAY)
        baseline = bm25.rank(SearchRequest(query=q.text, limit=K))
        plain += hit_at_k(baseline, q)
        request = first_request(reading, limit=8)
        hits = await search.search(request)
        filtered += hit_at_k(hits, q)
        report = grade(hits, reading)
        graded += hit_at_k([p.hit for p in report.passages], q)
    n = len(questions)
    return {"plain_bm25": plain / n, "bm25_with_understood_filters": filtered / n,
            "retrieve_then_grade": graded / n, "questions": n}


async def end_to_end(search: PassageSearch, companies: list[Company], questions: list[Question]):
    deps = Deps(search=search, catalogue=InMemoryCatalogue(companies),
                fundamentals=InMemoryFundamentals(), chat_model=ExtractiveAnswerer(),
                today=lambda: TODAY)
    graph = build_graph(deps)
    bus = InMemoryBus()  # nobody subscribes: frames are built and dropped
    cancels = CancelRegistry()
    per_node: dict[str, list[float]] = defaultdict(list)
    totals, answered, cited, faithfulness = [], 0, 0, []
    for i, q in enumerate(questions):
        origin = Envelope.wrap(JobRequested(job_id=f"b{i}", kind=JobKind.QUERY, owner="bench"),
                               correlation_id=f"b{i}")
        ctx = RunContext(emitter=FrameEmitter(bus, origin, f"b{i}"), cancel=cancels.token(f"b{i}"),
                         stream=True)
        started = time.perf_counter()
        state = await graph.ainvoke({"question": q.text, "filters": None},
                                    config={"configurable": {"run": ctx}})
        totals.append((time.perf_counter() - started) * 1000)
        for timing in ctx.trace.node_timings:
            per_node[timing.node].append(timing.latency_ms)
        response = state.get("response") or ""
        answered += q.figure in response
        cited += any(c["document_id"] == q.document_id and c["page_number"] == q.page
                     for c in state.get("citations") or [])
        if state.get("fact") and state["fact"].faithfulness_score is not None:
            faithfulness.append(state["fact"].faithfulness_score)
    n = len(questions)
    return {
        "answer_quotes_gold_figure": answered / n,
        "answer_cites_gold_page": cited / n,
        "mean_faithfulness": statistics.fmean(faithfulness) if faithfulness else None,
        "graph_ms_p50": statistics.median(totals),
        "graph_ms_p95": sorted(totals)[int(0.95 * (n - 1))],
        "node_ms_mean": {node: round(statistics.fmean(v), 2) for node, v in per_node.items()},
    }


async def main() -> None:
    configure_logging("rag-bench", "WARNING", json=False)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingestion", action="store_true",
                        help="search the ingestion service's sample corpus (in process)")
    args = parser.parse_args()
    if args.ingestion:
        print("--ingestion: not available until the ingestion service ships its sample corpus",
              file=sys.stderr)
        raise SystemExit(2)
    passages, questions = build_corpus()
    bm25 = InMemoryPassageSearch(passages)
    print(f"corpus: {len(passages)} self-made passages, {len(questions)} labelled questions "
          f"({len(COMPANIES)} companies x {len(YEARS)} fiscal years x {len(TOPICS)} topics)")
    recall = await measure(bm25, bm25, COMPANIES, questions)
    print(f"recall@{K}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in recall.items()))
    result = await end_to_end(bm25, COMPANIES, questions)
    for key, value in result.items():
        print(f"{key}: {value if not isinstance(value, float) else round(value, 3)}")


if __name__ == "__main__":
    asyncio.run(main())
