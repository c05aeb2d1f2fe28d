"""The research assistant on real public filings: recall, MRR, figures and latency, beside
plain BM25 and the dense model alone on the same pages, in the same run.

    uv run python bench/rag_eval.py                    # every question (bench/eval/questions.json)
    uv run python bench/rag_eval.py --split tune       # only the tuning filings
    uv run python bench/rag_eval.py --split unseen     # the annual report added after tuning (never tuned on)
    uv run python bench/rag_eval.py --split annual_tune  # annual reports (annual_heldout: blind check)
    uv run python bench/rag_eval.py --embedder hashing # the lexical hashing embedder instead
    uv run python bench/rag_eval.py --sweep 0:1,1:3,1:1,3:1,1:0   # fusion weights (dense:sparse)
    uv run python bench/rag_eval.py --smoke            # the committed subset (tests/data/eval)

The filings (bench/eval/documents.json: source repository, commit, path, sha256) are read from
$EVAL_FILINGS_DIR (default /work/shared/eval/filings), never from git. The questions and their
gold pages are bench/eval/questions.json (label.py derives the pages from evidence strings).

The whole system runs in process as embedded mode builds it (gateway, ingestion, rag-query on
one in-memory bus); each filing is uploaded to ingestion's API with its company and period,
every question goes through POST /api/v1/query with NO filters, and GET /api/v1/query/{id}
gives the answer, its citations and the workflow_trace. Measured per question:
  * recall@5: share of the question's answer parts (one per company for a comparison) with a
    gold page among the first 5 citations, in their order (baselines: their top 5 passages);
  * MRR@10: 1 / rank of the first passage on a gold page among the ranked passages in
    workflow_trace.retrieved_passages (baselines: their own ranking);
  * figure: for line-item and derived questions, whether the answer states the gold number
    (digits equal, or within 0.1 for a derived percentage or ratio);
  * latency: POST to final answer, client side (p50/p95).
Dense vectors are cached by text under $EVAL_CACHE_DIR (default /work/shared/eval/cache) so a
second run does not re-embed; the cache holds vectors only, never results.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).parent
EVAL = HERE / "eval"
SMOKE_DIR = HERE.parent / "tests" / "data" / "eval"
K, MRR_DEPTH = 5, 10
SPLITS = ["all", "tune", "heldout", "mixed", "unseen", "annual_tune", "annual_heldout"]
ADMIN = {"X-User-Id": "bench-admin", "X-User-Role": "admin"}


# ---- embeddings with a cache --------------------------------------------------------------

class CachedEmbedder:
    """Wraps an embedder; vectors are stored by sha1 of the text (bench only)."""

    def __init__(self, inner, directory: Path) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.path = directory / f"{inner.name}.npz"
        self.cache: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self.cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.computed = self.saved_at = 0
        self.compute_s = 0.0

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if self.key(t) not in self.cache]
        if missing:
            started = time.perf_counter()
            vectors = await self.inner.embed_documents(missing)
            self.compute_s += time.perf_counter() - started
            self.computed += len(missing)
            for text, vector in zip(missing, vectors, strict=True):
                self.cache[self.key(text)] = np.asarray(vector, dtype=np.float32)
            if self.computed - self.saved_at >= 256:  # a killed run keeps most of its work
                self.save()
                self.saved_at = self.computed
        return [self.cache[self.key(t)].tolist() for t in texts]

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed_documents([text]))[0]

    def save(self) -> None:
        if not self.cache:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.cache)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.cache[k] for k in keys]))
        tmp.replace(self.path)

    async def close(self) -> None:
        self.save()


def make_embedder(kind: str):
    if kind == "hashing":
        from beacon_runtime.embeddings.local import HashingEmbedder

        return HashingEmbedder(dim=384)
    from beacon_runtime.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


# ---- the system in process ----------------------------------------------------------------

async def build_system(embedder, *, dense_weight: float | None, sparse_weight: float | None):
    from beacon_gateway.bootstrap import build as build_gateway
    from beacon_gateway.repository import Role
    from beacon_gateway.settings import GatewaySettings
    from beacon_ingestion.bootstrap import build as build_ingestion
    from beacon_ingestion.repository.memory import InMemoryIngestionRepository
    from beacon_ingestion.settings import IngestionSettings
    from beacon_rag_query.bootstrap import build as build_rag_query
    from beacon_rag_query.settings import RagQuerySettings
    from beacon_runtime.adapters import Adapters
    from beacon_runtime.bus.memory import InMemoryBus
    from beacon_runtime.jobs.memory import InMemoryJobStore
    from beacon_runtime.vectors.edge import EdgeVectorStore

    weights = {}
    if dense_weight is not None:
        weights = {"hybrid_dense_weight": dense_weight, "hybrid_sparse_weight": sparse_weight}
    # Generous stage limits: the bench measures answers, and a shared 2-core machine can be
    # slow enough to trip the production watchdogs while parsing or embedding.
    ingestion_settings = IngestionSettings(
        ingest_sample_corpus=False, database_url=None, amqp_url=None, openai_base_url=None,
        parse_page_timeout_s=600, parse_document_timeout_s=7200, stage_stall_timeout_s=3600,
        embedding_batch_size=16, worker_concurrency=2, **weights)
    bus, repo = InMemoryBus(), InMemoryIngestionRepository()
    vectors = EdgeVectorStore(tempfile.mkdtemp(prefix="rag-eval-"),
                              dense_weight=ingestion_settings.hybrid_dense_weight,
                              sparse_weight=ingestion_settings.hybrid_sparse_weight)
    ingestion = build_ingestion(ingestion_settings,
                                Adapters(ingestion_settings, bus=bus, vectors=vectors, embedder=embedder),
                                repo=repo)
    ingestion_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=ingestion.http),
                                         base_url="http://ingestion", timeout=600)
    # A figure answer is not held for review here: faithfulness is measured, not enforced.
    rag_query = build_rag_query(RagQuerySettings(faithfulness_threshold=0), Adapters(bus=bus),
                                ingestion=ingestion_client)
    gateway = build_gateway(GatewaySettings(api_keys="bench", jwt_secret="b" * 40, argon2_time_cost=1, argon2_memory_kib=8192,
                        query_timeout_s=600, upstream_timeout_s=600),
                            Adapters(bus=bus, jobs=InMemoryJobStore()),
                            internal_apps={"ingestion": ingestion.http, "rag-query": rag_query.http})
    services = [ingestion, rag_query, gateway]
    for service in services:
        for start in service.on_start:
            await start()
    await bus.start()
    auth = gateway.http.state.research.auth
    await auth.create_user("bench@example.com", "bench-password-1", "Bench", Role.USER, 100_000)
    tokens = await auth.login("bench@example.com", "bench-password-1")
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.http), base_url="http://gateway",
                               timeout=900, headers={"Authorization": f"Bearer {tokens.access_token}"})

    async def stop() -> None:
        await client.aclose()
        await bus.stop()
        for service in reversed(services):
            for step in service.on_stop:
                await step()
        await ingestion_client.aclose()

    return {"client": client, "ingestion": ingestion, "ingestion_client": ingestion_client,
            "repo": repo, "vectors": vectors, "stop": stop}


async def ingest(system, manifest: dict, filings_dir: Path, wanted: set[str]) -> dict[str, int]:
    """Uploads the filings; returns filing id -> document id once all are completed."""
    from beacon_ingestion.domain import Company

    docs = [d for d in manifest["documents"] if d["id"] in wanted]
    await system["repo"].refresh_companies([
        Company(symbol=f"{d['company']['symbol']}.NS", name=d["company"]["name"],
                nse_symbol=d["company"]["symbol"], sector=d["company"].get("sector"),
                aliases=d["company"].get("aliases", []),
                # Entries without one keep the catalogue's default (March, the Indian year end).
                fiscal_year_end_month=d["company"].get("fiscal_year_end_month", 3))
        for d in {d["company"]["symbol"]: d for d in manifest["documents"]}.values()])
    ids = {}
    client = system["ingestion_client"]
    for d in docs:
        data = (filings_dir / d["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != d["sha256"]:
            raise SystemExit(f"{d['file']}: sha256 differs from the manifest")
        response = await client.post(
            "/api/v1/documents/upload", headers=ADMIN,
            files={"file": (d["file"], data, "application/pdf")},
            data={"company_symbol": d["company"]["symbol"], "doc_type": d["doc_type"],
                  "fiscal_period": d["fiscal_period"], "title": d["title"]})
        if response.status_code != 202:
            raise SystemExit(f"{d['file']}: upload refused {response.status_code} {response.text}")
        ids[d["id"]] = response.json()["document_id"]
    while True:
        states = [(await system["repo"].get_document(i)).status.value for i in ids.values()]
        if all(s in ("completed", "failed") for s in states):
            break
        await asyncio.sleep(0.5)
    failed = [f for f, i in ids.items() if (await system["repo"].get_document(i)).status.value == "failed"]
    if failed:
        raise SystemExit(f"ingestion failed for {failed}")
    return ids


# ---- scoring ------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-−]?\(?\d[\d,]*(?:\.\d+)?\)?")


def numbers_in(text: str) -> list[float]:
    out = []
    for raw in _NUMBER.findall(text.replace("−", "-")):
        negative = raw.startswith("-") or raw.startswith("(")
        digits = raw.strip("-()").replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        out.append(-value if negative else value)
    return out


def states_number(response: str, answer: str, kind: str) -> bool:
    expected = float(answer.replace(",", ""))
    found = numbers_in(response or "")
    if kind == "derived":
        return any(abs(abs(v) - abs(expected)) <= 0.1 + 1e-9 for v in found)
    return any(abs(abs(v) - abs(expected)) < 1e-6 for v in found)


def recall(pages: list[tuple[int, int]], parts: list[set[tuple[int, int]]]) -> float:
    top = set(pages[:K])
    return sum(bool(top & part) for part in parts) / len(parts)


def reciprocal_rank(pages: list[tuple[int, int]], parts: list[set[tuple[int, int]]]) -> float:
    gold = set().union(*parts)
    for rank, page in enumerate(pages[:MRR_DEPTH], start=1):
        if page in gold:
            return 1.0 / rank
    return 0.0


def dedupe(pages):
    return list(dict.fromkeys(pages))


# ---- the run ------------------------------------------------------------------------------

async def ask(client: httpx.AsyncClient, question: str) -> tuple[dict, float]:
    started = time.perf_counter()
    response = await client.post("/api/v1/query", json={"question": question})
    if response.status_code not in (200, 202):
        raise RuntimeError(f"POST /query {response.status_code}: {response.text}")
    body = response.json()
    while body["status"] == "processing":
        await asyncio.sleep(0.05)
        body = (await client.get(f"/api/v1/query/{body['id']}")).json()
    return body, (time.perf_counter() - started) * 1000


async def chunk_index(system, doc_ids: dict[str, int]):
    from beacon_contracts.search import SearchHit

    hits = []
    for filing, doc_id in doc_ids.items():
        document = await system["repo"].get_document(doc_id)
        for c in await system["repo"].chunks(doc_id):
            hits.append(SearchHit(chunk_id=c.id, document_id=doc_id, document_title=document.title,
                                  company_symbol=document.company_symbol, doc_type=document.doc_type,
                                  fiscal_period=document.fiscal_period, page_number=c.page_start,
                                  section=c.section, text=c.text, score=0))
    return hits


def select_questions(questions: list[dict], split: str, filings: str | None) -> list[dict]:
    """The questions of one split ("all" for every one), and only those whose filings are all
    in the comma-separated `filings` when it is given."""
    if split != "all":
        questions = [q for q in questions if q["split"] == split]
    if filings:
        allowed = set(filings.split(","))
        questions = [q for q in questions if set(q["filings"]) <= allowed]
    return questions


async def run(args) -> dict:
    from beacon_contracts.search import SearchRequest
    from beacon_rag_query.sources import InMemoryPassageSearch

    manifest = json.loads((EVAL / "documents.json").read_text())
    questions = json.loads((EVAL / "questions.json").read_text())
    filings_dir = Path(args.filings_dir or os.environ.get("EVAL_FILINGS_DIR", manifest["filings_dir_default"]))
    if args.smoke:  # the filing committed for CI, and only the questions about it
        filings_dir = SMOKE_DIR
        present = {d["id"] for d in manifest["documents"] if (SMOKE_DIR / d["file"]).exists()}
        questions = [q for q in questions if set(q["filings"]) <= present]
    questions = select_questions(questions, args.split, args.filings)
    if args.limit:
        questions = questions[:args.limit]
    wanted = {f for q in questions for f in q["filings"]}
    missing = [d["file"] for d in manifest["documents"] if d["id"] in wanted and not (filings_dir / d["file"]).exists()]
    if missing:
        raise SystemExit(f"filings missing under {filings_dir}: {missing} (see bench/eval/documents.json)")

    cache_dir = Path(args.cache_dir or os.environ.get("EVAL_CACHE_DIR", "/work/shared/eval/cache"))
    embedder = CachedEmbedder(make_embedder(args.embedder), cache_dir)
    sweep = [tuple(float(x) for x in pair.split(":")) for pair in (args.sweep or "").split(",") if pair]
    first = sweep[0] if sweep else (args.dense_weight, args.sparse_weight) if args.dense_weight is not None else (None, None)
    system = await build_system(embedder, dense_weight=first[0], sparse_weight=first[1])
    try:
        started = time.perf_counter()
        doc_ids = await ingest(system, manifest, filings_dir, wanted)
        ingest_s = time.perf_counter() - started
        embedder.save()
        hits = await chunk_index(system, doc_ids)
        pages_total = sum(len(c) for c in [{(h.document_id, h.page_number) for h in hits}])
        print(f"corpus: {len(doc_ids)} filings, {len(hits)} chunks on {pages_total} pages; "
              f"{len(questions)} questions; ingest {ingest_s:.0f} s "
              f"({embedder.computed} chunks embedded now in {embedder.compute_s:.0f} s)", flush=True)

        bm25 = InMemoryPassageSearch(hits)
        matrix = np.asarray(await embedder.embed_documents([h.text for h in hits]), dtype=np.float32)
        gold_of = {q["id"]: [{(doc_ids[p["filing"]], page) for page in pages}
                             for p, pages in zip(q["evidence"], q["gold"], strict=True)] for q in questions}

        baselines: dict[str, dict[str, tuple[float, float]]] = {"bm25": {}, "dense": {}}
        for q in questions:
            parts = gold_of[q["id"]]
            ranked = bm25.rank(SearchRequest(query=q["question"], limit=50))
            pages = dedupe([(h.document_id, h.page_number) for h in ranked])
            baselines["bm25"][q["id"]] = (recall(pages, parts), reciprocal_rank(pages, parts))
            qv = np.asarray(await embedder.embed_query(q["question"]), dtype=np.float32)
            order = np.argsort(-(matrix @ qv))[:50]
            pages = dedupe([(hits[i].document_id, hits[i].page_number) for i in order])
            baselines["dense"][q["id"]] = (recall(pages, parts), reciprocal_rank(pages, parts))
        embedder.save()

        results = {}
        for weights in (sweep or [first]):
            if weights[0] is not None:
                system["vectors"]._weights = (weights[0], weights[1])  # the fusion under test
            label = f"ours (dense:sparse {weights[0]:g}:{weights[1]:g})" if weights[0] is not None else "ours"
            results[label] = await run_questions(system["client"], questions, gold_of, args.verbose)
            print_table(label, results[label], baselines, questions)
        embedder.save()
        return {"systems": results, "baselines": baselines, "ingest_s": ingest_s}
    finally:
        await system["stop"]()


async def run_questions(client, questions, gold_of, verbose: bool) -> dict:
    out = {}
    for q in questions:
        body, latency = await ask(client, q["question"])
        parts = gold_of[q["id"]]
        cited = [(c.get("document_id"), c.get("page_number")) for c in body.get("citations") or []]
        trace = body.get("workflow_trace") or {}
        ranked = dedupe([(p["document_id"], p["page_number"]) for p in trace.get("retrieved_passages") or []])
        figure = None
        if q["kind"] in ("line_item", "derived") and q["answer"]:
            figure = states_number(body.get("response") or "", q["answer"], q["kind"])
        out[q["id"]] = {"recall": recall(dedupe(cited), parts), "rr": reciprocal_rank(ranked, parts),
                        # the ceiling citation selection works under: the top 5 ranked pages
                        "ranked_recall": recall(ranked, parts),
                        "figure": figure, "latency_ms": latency, "status": body["status"],
                        "citations": len(cited), "cited": dedupe(cited)[:5], "ranked": ranked[:10],
                        "gold": [sorted(p) for p in parts], "response": (body.get("response") or "")[:300]}
        if verbose and (out[q["id"]]["recall"] < 1 or figure is False):
            print(f"  miss {q['id']} {q['kind']}: {q['question']}\n    -> {(body.get('response') or '')[:220]!r}"
                  f"\n    cited {cited[:5]} gold {[sorted(p) for p in parts]}", flush=True)
    return out


def summarise(rows: dict, ids: list[str]) -> dict:
    picked = [rows[i] for i in ids if i in rows]
    if not picked:
        return {}
    first = picked[0]
    if isinstance(first, tuple):
        return {"recall@5": statistics.fmean(r[0] for r in picked), "mrr@10": statistics.fmean(r[1] for r in picked)}
    figures = [r["figure"] for r in picked if r["figure"] is not None]
    latencies = sorted(r["latency_ms"] for r in picked)
    return {"recall@5": statistics.fmean(r["recall"] for r in picked),
            "mrr@10": statistics.fmean(r["rr"] for r in picked),
            "figure": statistics.fmean(figures) if figures else None,
            "p50_ms": statistics.median(latencies), "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
            "citations": statistics.fmean(r["citations"] for r in picked),
            "top5": statistics.fmean(r["ranked_recall"] for r in picked)}


def print_table(label: str, ours: dict, baselines: dict, questions: list[dict]) -> None:
    groups = defaultdict(list)
    for q in questions:
        groups["all"].append(q["id"])
        groups[f"split={q['split']}"].append(q["id"])
        groups[f"kind={q['kind']}"].append(q["id"])
    print(f"\n{label}")
    print(f"{'group':22} {'n':>4} | {'ours R@5':>8} {'MRR@10':>6} {'figure':>6} {'p50 ms':>7} {'p95 ms':>7} {'cites':>5}"
          f" {'top5':>5} | {'BM25 R@5':>8} {'MRR':>5} | {'dense R@5':>9} {'MRR':>5}")
    for name, ids in groups.items():
        s, b, d = summarise(ours, ids), summarise(baselines["bm25"], ids), summarise(baselines["dense"], ids)
        fig = f"{s['figure']:.3f}" if s.get("figure") is not None else "-"
        print(f"{name:22} {len(ids):>4} | {s['recall@5']:>8.3f} {s['mrr@10']:>6.3f} {fig:>6} {s['p50_ms']:>7.0f}"
              f" {s['p95_ms']:>7.0f} {s['citations']:>5.2f} {s['top5']:>5.3f} | {b['recall@5']:>8.3f} {b['mrr@10']:>5.3f}"
              f" | {d['recall@5']:>9.3f} {d['mrr@10']:>5.3f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    from beacon_runtime.logs import configure_logging

    configure_logging("rag-eval", "WARNING", json=False)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument("--dense-weight", type=float)
    parser.add_argument("--sparse-weight", type=float)
    parser.add_argument("--sweep", help="comma list of dense:sparse fusion weights to compare")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--filings", help="comma list of filing ids: only questions about them")
    parser.add_argument("--filings-dir")
    parser.add_argument("--cache-dir", help="where dense vectors are cached (default $EVAL_CACHE_DIR)")
    parser.add_argument("--out", help="write the per-question results as JSON")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="the committed filing only (tests/data/eval)")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
