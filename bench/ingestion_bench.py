"""Ingestion benchmark (embedded mode adapters).

1. A generated 300-page PDF (headings, paragraphs, a table every fifth page) goes through the
   whole pipeline (download skipped: uploaded; parse in the child process, chunk, embed with
   the offline embedder, index into qdrant-edge), next to pypdf's raw text extraction of the
   same bytes in the same run.
2. Hybrid query latency (dense + sparse prefetch, weighted RRF, payload filter) over N chunks
   (default 100k) in qdrant-edge, with the offline embedder and sparse encoder.

    uv run python bench/ingestion_bench.py [--pages 300] [--chunks 100000] [--queries 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

WORDS = ["revenue", "profit", "margin", "ebitda", "dividend", "segment", "retail", "digital", "energy", "refining", "telecom", "subscribers", "growth", "guidance", "outlook", "risk", "governance", "board", "capital", "expenditure", "debt", "equity", "cash", "flow", "operations", "quarter", "annual", "crore", "rupee", "market", "share", "demand", "pricing", "attrition", "headcount", "deal", "order", "book", "cloud", "services", "banking", "insurance", "manufacturing", "exports", "inflation", "interest", "tax", "depreciation", "impairment", "provision", "liquidity"]
COMPANIES = ["RELIANCE.NS", "TCS.NS", "INFY.NS", "HDFCBANK.NS", "ICICIBANK.NS", "ITC.NS",
             "SBIN.NS", "LT.NS", "BHARTIARTL.NS", "HINDUNILVR.NS"]
PERIODS = ["FY2022", "FY2023", "FY2024", "Q1FY25", "Q2FY25"]


def big_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    rng = random.Random(42)
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, f"{number}. Section {rng.choice(WORDS).title()} Review", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for _ in range(4):
            sentence = " ".join(rng.choice(WORDS) for _ in range(80)).capitalize() + "."
            pdf.multi_cell(0, 5, sentence, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        if number % 5 == 0:
            with pdf.table(col_widths=(70, 30, 30, 30)) as table:
                for row in [("Particulars", "FY2024", "FY2023", "Change %"),
                            *[(rng.choice(WORDS).title(), f"{rng.randint(1000, 99999):,}",
                               f"{rng.randint(1000, 99999):,}", f"{rng.uniform(-20, 20):.1f}")
                              for _ in range(6)]]:
                    cells = table.row()
                    for cell in row:
                        cells.cell(cell)
    return bytes(pdf.output())


async def pipeline_bench(pages: int) -> dict:
    from beacon_contracts import routing
    from beacon_ingestion.bootstrap import build
    from beacon_ingestion.domain import NewDocument
    from beacon_ingestion.pipeline.parsing import extract_plain_text
    from beacon_ingestion.settings import IngestionSettings
    from beacon_runtime.bus.memory import InMemoryBus

    pdf = big_pdf(pages)
    started = time.perf_counter()
    texts = extract_plain_text(pdf)
    raw_s = time.perf_counter() - started
    assert len(texts) == pages

    bus = InMemoryBus()
    done = asyncio.Event()

    async def on_completed(envelope) -> None:
        done.set()

    bus.subscribe("bench", [routing.JOB_COMPLETED], on_completed)
    with tempfile.TemporaryDirectory() as vectors_dir:
        settings = IngestionSettings(vectors_dir=Path(vectors_dir), ingest_sample_corpus=False,
                                     seed_catalogue=True, reaper_interval_s=3600)
        service = build(settings, bus=bus)
        await service.start()
        await bus.start()
        documents = service.http.state.deps.documents
        started = time.perf_counter()
        accepted = await documents.upload(NewDocument(
            doc_type="annual_report", title="Benchmark report", company_symbol="RELIANCE.NS",
            fiscal_period="FY2024"), pdf)
        await asyncio.wait_for(done.wait(), 1800)
        pipeline_s = time.perf_counter() - started
        document = await service.pipeline.repo.get_document(accepted.document.id)
        stages = await service.pipeline.repo.stages(accepted.document.id)
        await bus.stop()
        await service.stop()
    assert document.status.value == "completed", document.error
    return {
        "pages": pages, "pdf_bytes": len(pdf), "chunks": document.chunk_count,
        "raw_extraction_s": round(raw_s, 3), "raw_pages_per_s": round(pages / raw_s, 1),
        "pipeline_s": round(pipeline_s, 3), "pipeline_pages_per_s": round(pages / pipeline_s, 1),
        "stage_s": {name: round((r.finished_at - r.started_at).total_seconds(), 3)
                    for name, r in stages.items()},
    }


async def query_bench(chunks: int, queries: int) -> dict:
    from beacon_runtime.embeddings.local import Bm25SparseEncoder, HashingEmbedder
    from beacon_runtime.vectors.edge import EdgeVectorStore
    from beacon_runtime.vectors.port import VectorPoint

    rng = random.Random(7)
    embedder, sparse = HashingEmbedder(384), Bm25SparseEncoder()
    store = EdgeVectorStore()
    await store.ensure_collection("bench", 384)
    started = time.perf_counter()
    batch = 2000
    for start in range(0, chunks, batch):
        texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
                 for _ in range(min(batch, chunks - start))]
        dense = await asyncio.to_thread(embedder.embed_sync, texts)
        points = [VectorPoint(
            id=str(uuid.UUID(int=rng.getrandbits(128))), dense=d, sparse=sparse.encode_document(t),
            payload={"document_id": rng.randint(1, 500), "company_symbol": rng.choice(COMPANIES),
                     "fiscal_period": rng.choice(PERIODS), "doc_type": "annual_report",
                     "page_number": rng.randint(1, 300), "text": t})
            for t, d in zip(texts, dense, strict=True)]
        await store.upsert("bench", points)
    load_s = time.perf_counter() - started
    assert await store.count("bench") == chunks

    latencies: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    for i in range(queries):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10)))
        filtered = i % 2 == 1
        filters = ({"company_symbol": rng.choice(COMPANIES), "fiscal_period": [rng.choice(PERIODS)]}
                   if filtered else None)
        t0 = time.perf_counter()
        dense = await embedder.embed_query(text)
        hits = await store.hybrid_search("bench", dense, sparse.encode_query(text), filters=filters, limit=8)
        latencies["filtered" if filtered else "unfiltered"].append((time.perf_counter() - t0) * 1000)
        assert hits
    await store.close()

    def summary(values: list[float]) -> dict:
        ordered = sorted(values)
        return {"p50_ms": round(statistics.median(ordered), 2),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
                "n": len(ordered)}

    return {"chunks": chunks, "load_s": round(load_s, 1),
            **{kind: summary(values) for kind, values in latencies.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    from beacon_runtime.logs import configure_logging

    configure_logging("bench", "WARNING", json=False)
    result = {"pipeline": asyncio.run(pipeline_bench(args.pages)),
              "hybrid_query": asyncio.run(query_bench(args.chunks, args.queries))}
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
