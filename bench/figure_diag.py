"""Why a figure answer misses: retrieval's miss or the answerer's.

    uv run python bench/figure_diag.py --embedder hashing --split tune          # live + oracle
    uv run python bench/figure_diag.py --split tune --oracle-only               # answerer alone

For every line-item and derived question of bench/eval/questions.json it shows:
  * live: the answer POST /api/v1/query gave, whether it states the gold number, whether a
    gold page was among the passages the answerer read (the first `max_context_passages` of
    workflow_trace.retrieved_passages) and among the citations;
  * oracle: what the figure reader (asked.read_question + derived.find_figures +
    answerer.compose) says when it is given exactly the chunks of the gold pages: the
    answerer's own share, independent of retrieval.
A miss is "retrieval" when the live answer missed and no gold page reached the answerer,
"answerer" when a gold page did. Same filings, ingestion and scoring as bench/rag_eval.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import rag_eval  # noqa: E402  (the bench's own harness: system, ingestion, scoring)

CONTEXT = 6  # rag-query's default max_context_passages
DUMP: dict[str, list[dict]] = {}  # question id -> the oracle's evidence (--dump)


def oracle_answer(q: dict, hits_by_page: dict, doc_ids: dict, matcher, today: date,
                  show: bool = False) -> tuple[str, dict]:
    from beacon_rag_query.answerer import compose
    from beacon_rag_query.asked import read_question
    from beacon_rag_query.derived import find_figures
    from beacon_rag_query.domain import Evidence
    from beacon_rag_query.periods import parse_periods
    from beacon_rag_query.understanding import base_name

    companies = matcher.find(q["question"])
    periods = parse_periods(q["question"], today)
    names = {s: base_name(matcher.companies[s].name) for s in companies if s in matcher.companies}
    words = [*names.values(), *(s.replace(".", " ") for s in companies)]
    question = read_question(q["question"], companies, periods, entity_words=words)
    evidence = []
    for part, pages in zip(q["evidence"], q["gold"], strict=True):
        for page in pages:
            for hit in hits_by_page.get((doc_ids[part["filing"]], page), []):
                evidence.append(Evidence(
                    index=len(evidence) + 1, text=hit.text, document_id=hit.document_id,
                    document_title=hit.document_title, page_number=hit.page_number,
                    company_symbol=hit.company_symbol, fiscal_period=hit.fiscal_period, score=1.0,
                    section=hit.section))
    DUMP[q["id"]] = [e.__dict__ for e in evidence]
    if show:
        for e in evidence:
            print(f"--- [{e.index}] page {e.page_number} section {e.section!r}\n{e.text}")
    found = find_figures(question, evidence, names)
    said = compose(found, names) if found.found else "(nothing found)"
    info = {"kind": question.kind, "item": question.item.key if question.item else None,
            "ratio": question.ratio.key if question.ratio else None,
            "periods": [p.label for p in question.periods], "companies": list(companies)}
    return said, info


async def run(args) -> None:
    from beacon_rag_query.domain import Company
    from beacon_rag_query.understanding import CompanyMatcher

    manifest = json.loads((rag_eval.EVAL / "documents.json").read_text())
    questions = [q for q in json.loads((rag_eval.EVAL / "questions.json").read_text())
                 if q["kind"] in ("line_item", "derived") and q["answer"]]
    questions = rag_eval.select_questions(questions, args.split, args.filings)
    if args.ids:
        questions = [q for q in questions if q["id"] in set(args.ids.split(","))]
    filings_dir = Path(os.environ.get("EVAL_FILINGS_DIR", manifest["filings_dir_default"]))
    wanted = {f for q in questions for f in q["filings"]}
    cache = Path(os.environ.get("EVAL_CACHE_DIR", "/work/shared/eval/cache"))
    embedder = rag_eval.CachedEmbedder(rag_eval.make_embedder(args.embedder), cache)
    system = await rag_eval.build_system(embedder, dense_weight=None, sparse_weight=None)
    matcher = CompanyMatcher([
        Company(symbol=f"{d['company']['symbol']}.NS", name=d["company"]["name"],
                nse_symbol=d["company"]["symbol"], aliases=tuple(d["company"].get("aliases", [])))
        for d in {d["company"]["symbol"]: d for d in manifest["documents"]}.values()])
    rows = []
    try:
        doc_ids = await rag_eval.ingest(system, manifest, filings_dir, wanted)
        hits = await rag_eval.chunk_index(system, doc_ids)
        by_page: dict = {}
        for h in hits:
            by_page.setdefault((h.document_id, h.page_number), []).append(h)
        for q in questions:
            gold = set().union(*[{(doc_ids[p["filing"]], page) for page in pages}
                                 for p, pages in zip(q["evidence"], q["gold"], strict=True)])
            said, info = oracle_answer(q, by_page, doc_ids, matcher, date.today(), args.show)
            row = {"id": q["id"], "kind": q["kind"], "split": q["split"], "question": q["question"],
                   "gold_answer": q["answer"], "understood": info, "oracle": said,
                   "oracle_ok": rag_eval.states_number(said, q["answer"], q["kind"])}
            if not args.oracle_only:
                body, _ = await rag_eval.ask(system["client"], q["question"])
                trace = body.get("workflow_trace") or {}
                read = rag_eval.dedupe([(p["document_id"], p["page_number"])
                                        for p in (trace.get("retrieved_passages") or [])])[:CONTEXT]
                cited = [(c.get("document_id"), c.get("page_number")) for c in body.get("citations") or []]
                row.update(live=body.get("response") or "",
                           live_ok=rag_eval.states_number(body.get("response") or "", q["answer"], q["kind"]),
                           gold_read=bool(gold & set(read)), gold_cited=bool(gold & set(cited)))
                row["blame"] = ("ok" if row["live_ok"] else "answerer" if row["gold_read"] else "retrieval")
            rows.append(row)
            if args.verbose or not row["oracle_ok"] or row.get("blame") not in (None, "ok"):
                print(f"{q['id']} {q['kind']} [{row.get('blame', '-')}; oracle {'ok' if row['oracle_ok'] else 'MISS'}]"
                      f" {q['question']}\n   gold {q['answer']} | understood {info}\n   oracle: {said[:300]}"
                      + (f"\n   live:   {row['live'][:300]}" if "live" in row else ""), flush=True)
    finally:
        await system["stop"]()
    print()
    for kind in ("line_item", "derived"):
        picked = [r for r in rows if r["kind"] == kind]
        if not picked:
            continue
        oracle = sum(r["oracle_ok"] for r in picked) / len(picked)
        line = f"{kind:10} n={len(picked):3}  oracle (gold pages given) {oracle:.3f}"
        if not args.oracle_only:
            live = sum(r["live_ok"] for r in picked) / len(picked)
            blame = Counter(r["blame"] for r in picked)
            line += f"  live {live:.3f}  misses: {dict(blame)}"
        print(line)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    if args.dump:
        Path(args.dump).write_text(json.dumps(DUMP, default=str))


def main() -> int:
    from beacon_runtime.logs import configure_logging

    configure_logging("figure-diag", "WARNING", json=False)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # annual_tune only: annual_heldout is a blind check, not a split to diagnose answers on.
    parser.add_argument("--split", choices=["all", "tune", "heldout", "mixed", "annual_tune"],
                        default="tune")
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="hashing")
    parser.add_argument("--filings")
    parser.add_argument("--ids", help="comma list of question ids")
    parser.add_argument("--oracle-only", action="store_true", help="skip the live queries")
    parser.add_argument("--verbose", action="store_true", help="print hits too")
    parser.add_argument("--show", action="store_true", help="print the gold pages' chunks")
    parser.add_argument("--out")
    parser.add_argument("--dump", help="write the oracle's evidence per question as JSON")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
