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
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from beacon_contracts.commands import AnswerQuestion
from beacon_contracts.events import Envelope
from beacon_contracts.search import SearchHit, SearchRequest
from beacon_rag_query.answerer import ExtractiveAnswerer
from beacon_rag_query.domain import Company
from beacon_rag_query.frames import CancelRegistry, FrameEmitter
from beacon_rag_query.grading import first_request
from beacon_rag_query.graph import Deps, RunContext, build_graph
from beacon_rag_query.sources import (
    FundamentalsSource,
    InMemoryCatalogue,
    InMemoryFundamentals,
    InMemoryPassageSearch,
    PassageSearch,
)
from beacon_rag_query.text import indian_grouping
from beacon_rag_query.understanding import CompanyMatcher, understand
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.logs import configure_logging

TODAY = date(2024, 11, 25)
K = 5
VERBOSE = False

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
    gold: frozenset[tuple[int, int]]  # (document id, page) pairs that hold the answer
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
                questions.append(Question(asked.format(co=spoken, period=form),
                                          frozenset({(document_id, page)}), figure))
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
    return any((h.document_id, h.page_number) in q.gold for h in hits[:k])


async def measure(
    *, search: PassageSearch, bm25: InMemoryPassageSearch, companies: list[Company],
    fundamentals: FundamentalsSource, questions: list[Question],
) -> dict:
    """Baselines and the workflow over the same passages, one question at a time."""
    matcher = CompanyMatcher(companies)
    graph = build_graph(Deps(search=search, catalogue=InMemoryCatalogue(companies),
                             fundamentals=fundamentals, chat_model=ExtractiveAnswerer(),
                             today=lambda: TODAY))
    bus = InMemoryBus()  # nobody subscribes: frames are built and dropped
    cancels = CancelRegistry()
    hits = defaultdict(int)
    per_node: dict[str, list[float]] = defaultdict(list)
    totals, answered, cited, faithfulness = [], 0, 0, []
    for i, q in enumerate(questions):
        reading = understand(q.text, None, matcher, today=TODAY)
        hits["plain BM25 (question only, no filters)"] += hit_at_k(
            bm25.rank(SearchRequest(query=q.text, limit=K)), q)
        if search is not bm25:
            hits["search service, question only, no filters"] += hit_at_k(
                await search.search(SearchRequest(query=q.text, limit=K)), q)
        hits["search + filters from query understanding"] += hit_at_k(
            await search.search(first_request(reading, limit=K)), q)

        origin = Envelope.wrap(AnswerQuestion(job_id=f"b{i}", owner="bench", question=q.text),
                               correlation_id=f"b{i}")
        ctx = RunContext(emitter=FrameEmitter(bus, origin, f"b{i}"), cancel=cancels.token(f"b{i}"),
                         stream=True)
        started = time.perf_counter()
        state = await graph.ainvoke({"question": q.text, "filters": None},
                                    config={"configurable": {"run": ctx}})
        totals.append((time.perf_counter() - started) * 1000)
        hits["workflow: retrieve -> grade (-> rewrite), graded top 5"] += hit_at_k(
            [p.hit for p in state.get("passages") or []], q)
        for timing in ctx.trace.node_timings:
            per_node[timing.node].append(timing.latency_ms)
        response = state.get("response") or state.get("answer") or ""
        answered += q.figure in response
        if VERBOSE and q.figure not in response:
            print(f"  miss: {q.text!r} -> {response[:160]!r}")
        cited += any((c["document_id"], c["page_number"]) in q.gold
                     for c in state.get("citations") or [])
        if state.get("fact") and state["fact"].faithfulness_score is not None:
            faithfulness.append(state["fact"].faithfulness_score)
    n = len(questions)
    return {
        "recall_at_5": {name: round(count / n, 3) for name, count in hits.items()},
        "answer_quotes_gold_figure": round(answered / n, 3),
        "answer_cites_gold_page": round(cited / n, 3),
        "mean_faithfulness": round(statistics.fmean(faithfulness), 3) if faithfulness else None,
        "graph_ms_p50": round(statistics.median(totals), 2),
        "graph_ms_p95": round(sorted(totals)[int(0.95 * (n - 1))], 2),
        "node_ms_mean": {node: round(statistics.fmean(v), 2) for node, v in per_node.items()},
    }


# ---- the ingestion service's sample corpus ---------------------------------------------

# (question, (symbol, fiscal period), gold pages, figure the answer must quote)
SAMPLE_QUESTIONS = [
    ("What was Reliance's revenue from operations in FY2024?", ("RELIANCE.NS", "FY2024"), {2}, "9,74,864"),
    ("What was RIL's net profit in FY24?", ("RELIANCE.NS", "FY2024"), {2}, "79,020"),
    ("How much EBITDA did Reliance report for fiscal 2024?", ("RELIANCE.NS", "FY2024"), {2}, "1,78,677"),
    ("What dividend per share did Reliance pay for FY2024?", ("RELIANCE.NS", "FY2024"), {2}, "10.00"),
    ("What was the revenue of Reliance's Retail segment in FY2024?", ("RELIANCE.NS", "FY2024"), {3}, "3,06,848"),
    ("What was the Digital Services EBITDA of Reliance in 2023-24?", ("RELIANCE.NS", "FY2024"), {3}, "56,210"),
    ("What was Reliance's net profit in Q2 FY25?", ("RELIANCE.NS", "Q2FY25"), {1, 2}, "19,101"),
    ("Reliance EBITDA last quarter", ("RELIANCE.NS", "Q2FY25"), {1}, "43,934"),
    ("What was TCS revenue in FY2024?", ("TCS.NS", "FY2024"), {2}, "2,40,893"),
    ("What was the TCS dividend per share for FY24?", ("TCS.NS", "FY2024"), {2}, "73.00"),
    ("What was the revenue of the TCS banking, financial services and insurance segment in FY2024?",
     ("TCS.NS", "FY2024"), {3}, "86,234"),
    ("What was TCS attrition in Q2FY25?", ("TCS.NS", "Q2FY25"), {2}, "12.3%"),
    ("What was the total contract value of deals TCS signed in Q2 FY25?", ("TCS.NS", "Q2FY25"), {2}, "8.6"),
    ("TCS operating profit Q2FY25", ("TCS.NS", "Q2FY25"), {1}, "15,465"),
    ("What was Infosys revenue in FY2024?", ("INFY.NS", "FY2024"), {2}, "1,53,670"),
    ("What was the net profit of Infosys in fiscal 2024?", ("INFY.NS", "FY2024"), {2}, "26,233"),
    ("What was the revenue of the Retail segment of Infosys in FY2024?", ("INFY.NS", "FY2024"), {3}, "22,750"),
    ("What revenue growth guidance did Infosys give for FY2025?", ("INFY.NS", "FY2024"), {4}, "3.75%"),
    ("Infy operating profit last quarter", ("INFY.NS", "Q2FY25"), {1}, "8,649"),
    ("What was the large deal total contract value for Infosys in Q2FY25?", ("INFY.NS", "Q2FY25"), {2}, "2.4"),
    ("What was the turnover of Infosys in Q2 FY25?", ("INFY.NS", "Q2FY25"), {1}, "40,986"),
    ("How much did TCS earn after tax in FY2024?", ("TCS.NS", "FY2024"), {2}, "45,908"),
]


async def sample_corpus_run() -> dict:
    """The ingestion service in process, as embedded mode runs it, on its sample corpus."""
    import tempfile

    import httpx

    from beacon_ingestion.bootstrap import build as build_ingestion
    from beacon_ingestion.domain import DocumentStatus
    from beacon_runtime.files import InMemoryFileStore
    from beacon_ingestion.repository.memory import InMemoryIngestionRepository
    from beacon_ingestion.settings import IngestionSettings
    from beacon_rag_query.sources import HttpIngestion
    from beacon_runtime.vectors.edge import EdgeVectorStore

    bus, repo = InMemoryBus(), InMemoryIngestionRepository()
    vectors = EdgeVectorStore(tempfile.mkdtemp(prefix="rag-bench-"))
    settings = IngestionSettings(ingest_sample_corpus=True, database_url=None, amqp_url=None,
                                 openai_base_url=None, reaper_interval_s=3600)
    service = build_ingestion(settings, Adapters(settings, bus=bus, vectors=vectors,
                                                 files=InMemoryFileStore()), repo=repo)
    await service.start()
    await bus.start()
    try:
        while (await repo.list_documents(status=DocumentStatus.COMPLETED))[0] < 6:
            await asyncio.sleep(0.05)
        _, documents = await repo.list_documents(status=DocumentStatus.COMPLETED)
        by_filing = {(d.company_symbol, d.fiscal_period): d for d in documents}
        chunks = []
        for d in documents:
            for c in await repo.chunks(d.id):
                chunks.append(SearchHit(
                    chunk_id=c.id, document_id=d.id, document_title=d.title,
                    company_symbol=d.company_symbol, doc_type=d.doc_type,
                    fiscal_period=d.fiscal_period, page_number=c.page_start, section=c.section,
                    text=c.text, score=0))
        questions = [Question(text, frozenset((by_filing[filing].id, p) for p in pages), figure)
                     for text, filing, pages, figure in SAMPLE_QUESTIONS]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service.http),
                                     base_url="http://ingestion") as client:
            remote = HttpIngestion(client)
            companies = await remote.companies()
            print(f"corpus: the ingestion sample corpus, {len(documents)} documents, "
                  f"{len(chunks)} chunks, {len(questions)} labelled questions (self-made labels)")
            return await measure(search=remote, bm25=InMemoryPassageSearch(chunks),
                                 companies=companies, fundamentals=remote, questions=questions)
    finally:
        await bus.stop()
        await service.stop()
        await vectors.close()


async def synthetic_run() -> dict:
    passages, questions = build_corpus()
    bm25 = InMemoryPassageSearch(passages)
    print(f"corpus: {len(passages)} self-made passages, {len(questions)} labelled questions "
          f"({len(COMPANIES)} companies x {len(YEARS)} fiscal years x {len(TOPICS)} topics)")
    return await measure(search=bm25, bm25=bm25, companies=COMPANIES,
                         fundamentals=InMemoryFundamentals(), questions=questions)


async def main() -> None:
    configure_logging("rag-bench", "WARNING", json=False)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingestion", action="store_true",
                        help="the ingestion service's sample corpus, searched over its API")
    parser.add_argument("--verbose", action="store_true", help="print the questions missed")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    result = await (sample_corpus_run() if args.ingestion else synthetic_run())
    for name, value in result.pop("recall_at_5").items():
        print(f"recall@{K}  {value:.3f}  {name}")
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    asyncio.run(main())
