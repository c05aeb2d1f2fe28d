"""Ingestion benchmark on real public filings (embedded mode adapters), measured apart in one run.

The filings are listed in bench/data/ingestion_filings.json (source repository, commit, path,
sha256) and cached outside git under $BEACON_FILINGS_DIR (default
/work/shared/eval/ingestion-filings); a file whose sha256 differs is refused.

1. Extraction alone, in this process, over every page: pypdf's layout mode (the former
   parser), pypdf's plain mode, PDFium's text (pypdfium2, the parser now) and PDFium plus our
   table and statement-title reading (what the parse stage does per page), interleaved filing
   by filing so a shared machine's load falls on all alike; wall and CPU seconds.
2. Embedding alone: the chunks of those pages (chunk_pages) through the embedder the service
   builds from its settings (`build_embedder`: the offline default unless OPENAI_BASE_URL).
3. The whole pipeline: every filing uploaded to the ingestion service (parse in the child
   process, chunk, embed, index into qdrant-edge), until its JobCompleted.
4. Optional (--chunks N): hybrid query latency over N synthetic chunks in qdrant-edge.

    uv run python bench/ingestion_bench.py [--filings-dir DIR] [--repeat 1] [--chunks 0]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

MANIFEST = Path(__file__).parent / "data" / "ingestion_filings.json"
DEFAULT_DIR = "/work/shared/eval/ingestion-filings"
WORDS = ["revenue", "profit", "margin", "ebitda", "dividend", "segment", "retail", "digital", "energy",
         "refining", "telecom", "growth", "guidance", "outlook", "risk", "governance", "board", "capital",
         "expenditure", "debt", "equity", "cash", "flow", "operations", "quarter", "annual", "crore"]
COMPANIES = ["RELIANCE.NS", "TCS.NS", "INFY.NS", "HDFCBANK.NS", "ICICIBANK.NS", "ITC.NS"]
PERIODS = ["FY2022", "FY2023", "FY2024", "Q1FY25", "Q2FY25"]


def load_filings(directory: Path) -> tuple[dict, list[tuple[dict, bytes]]]:
    manifest = json.loads(MANIFEST.read_text())
    filings = []
    for entry in manifest["documents"]:
        path = directory / entry["file"]
        if not path.exists():
            sys.exit(f"missing {path}: fetch {manifest['repository']} at {manifest['commit']} and "
                     f"`git show {manifest['commit']}:{entry['source_path']!r} > {path}`")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            sys.exit(f"{path}: sha256 differs from the manifest")
        filings.append((entry, data))
    return manifest, filings


def extraction_bench(filings: list[tuple[dict, bytes]], repeat: int) -> dict:
    """Each extractor runs on one filing after the other before the next filing, so the load
    of a shared machine falls on all of them alike; wall and CPU time are both kept (CPU time
    is what a dedicated core would take)."""
    from beacon_ingestion.pipeline.parsing import blocks_from_lines, extract_plain_text, statement_title
    from pypdf import PdfReader

    def pypdf_layout(data: bytes) -> list[str]:
        return [page.extract_text(extraction_mode="layout") for page in PdfReader(io.BytesIO(data)).pages]

    def pypdf_plain(data: bytes) -> list[str]:
        return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]

    def pdfium_tables(data: bytes) -> list:
        return [(b := blocks_from_lines(text), statement_title(b)) for text in extract_plain_text(data)]

    methods = {"pypdf_layout (former parser)": pypdf_layout, "pypdf_plain": pypdf_plain,
               "pdfium_text": extract_plain_text, "pdfium_text_tables_titles (parser now)": pdfium_tables}
    wall = dict.fromkeys(methods, 0.0)
    cpu = dict.fromkeys(methods, 0.0)
    outputs: dict[str, list] = {name: [] for name in methods}
    for _, data in filings:
        for name, fn in methods.items():
            best_wall, best_cpu, result = float("inf"), float("inf"), None
            for _ in range(repeat):
                w0, c0 = time.perf_counter(), time.process_time()
                result = fn(data)
                best_wall = min(best_wall, time.perf_counter() - w0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            wall[name] += best_wall
            cpu[name] += best_cpu
            outputs[name].extend(result)
    pages = sum(entry["pages"] for entry, _ in filings)
    results = {}
    for name in methods:
        row = {"wall_s": round(wall[name], 2), "pages_per_s": round(pages / wall[name], 1),
               "cpu_s": round(cpu[name], 2), "pages_per_cpu_s": round(pages / cpu[name], 1)}
        out = outputs[name]
        if out and isinstance(out[0], str):
            row["non_space_chars_per_page"] = round(sum(len("".join(t.split())) for t in out) / pages)
        else:
            tables = [b for blocks, _ in out for b in blocks if b["kind"] == "table"]
            row["tables"] = len(tables)
            row["table_rows"] = sum(len(b["rows"]) for b in tables)
            row["statement_pages"] = sum(1 for _, title in out if title)
        results[name] = row
    return {"pages": pages, **results}


async def embedding_bench(filings: list[tuple[dict, bytes]], settings) -> dict:
    from beacon_runtime.adapters import build_embedder
    from beacon_ingestion.pipeline.chunking import chunk_pages
    from beacon_ingestion.pipeline.parsing import Page, blocks_from_lines, extract_plain_text, statement_title

    texts = []
    pages = 0
    for _, data in filings:
        parsed = []
        for number, text in enumerate(extract_plain_text(data), start=1):
            blocks = blocks_from_lines(text)
            parsed.append(Page(number, blocks, title=statement_title(blocks)))
        pages += len(parsed)
        texts += [d.text for d in chunk_pages(parsed, target_chars=settings.chunk_target_chars,
                                              max_chars=settings.chunk_max_chars)]
    embedder = build_embedder(settings)
    batch = settings.embedding_batch_size
    started, cpu_started = time.perf_counter(), _cpu()
    for start in range(0, len(texts), batch):
        await embedder.embed_documents(texts[start:start + batch])
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
    await embedder.close()
    return {"embedder": type(embedder).__name__, "chunks": len(texts), "wall_s": round(seconds, 2),
            "chunks_per_s": round(len(texts) / seconds, 1), "pages_per_s": round(pages / seconds, 1),
            "cpu_s": round(cpu, 2), "pages_per_cpu_s": round(pages / cpu, 1)}


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the parser processes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


async def pipeline_bench(manifest: dict, filings: list[tuple[dict, bytes]], settings) -> dict:
    from beacon_contracts import routing
    from beacon_ingestion.bootstrap import build
    from beacon_ingestion.domain import NewDocument
    from beacon_runtime.adapters import Adapters
    from beacon_runtime.bus.memory import InMemoryBus

    bus = InMemoryBus()
    finished: asyncio.Queue = asyncio.Queue()

    async def on_completed(envelope) -> None:
        await finished.put(envelope)

    bus.subscribe("bench", [routing.JOB_COMPLETED], on_completed)
    service = build(settings, Adapters(settings, bus=bus))
    await service.start()
    await bus.start()
    documents = service.http.state.deps.documents
    started, cpu_started = time.perf_counter(), _cpu()
    ids = []
    for entry, data in filings:
        accepted = await documents.upload(NewDocument(
            doc_type=manifest["doc_type"], title=entry["file"], company_symbol=manifest["company_symbol"],
            fiscal_period=manifest["fiscal_period"]), data)
        ids.append(accepted.document.id)
    for _ in ids:
        await asyncio.wait_for(finished.get(), 3600)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
    stage_s: dict[str, float] = {}
    chunks = 0
    failed = []
    for document_id in ids:
        document = await service.pipeline.repo.get_document(document_id)
        if document.status.value != "completed":
            failed.append((document.title, document.error))
        chunks += document.chunk_count or 0
        for name, record in (await service.pipeline.repo.stages(document_id)).items():
            if record.started_at and record.finished_at:
                stage_s[name] = stage_s.get(name, 0.0) + (record.finished_at - record.started_at).total_seconds()
    await bus.stop()
    await service.stop()
    pages = sum(entry["pages"] for entry, _ in filings)
    return {"documents": len(ids), "failed": failed, "pages": pages, "chunks": chunks,
            "wall_s": round(seconds, 2), "pages_per_s": round(pages / seconds, 1),
            "cpu_s_with_parser_children": round(cpu, 2), "pages_per_cpu_s": round(pages / cpu, 1),
            "stage_s_summed": {k: round(v, 2) for k, v in stage_s.items()}}


async def query_bench(chunks: int, queries: int) -> dict:
    from beacon_runtime.embeddings.local import Bm25SparseEncoder, HashingEmbedder
    from beacon_runtime.vectors.edge import EdgeVectorStore
    from beacon_runtime.vectors.port import VectorPoint

    rng = random.Random(7)
    embedder, sparse = HashingEmbedder(384), Bm25SparseEncoder()
    store = EdgeVectorStore()
    await store.ensure_collection("bench", 384)
    for start in range(0, chunks, 2000):
        texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
                 for _ in range(min(2000, chunks - start))]
        dense = await asyncio.to_thread(embedder.embed_sync, texts)
        await store.upsert("bench", [VectorPoint(
            id=str(uuid.UUID(int=rng.getrandbits(128))), dense=d, sparse=sparse.encode_document(t),
            payload={"document_id": rng.randint(1, 500), "company_symbol": rng.choice(COMPANIES),
                     "fiscal_period": rng.choice(PERIODS), "doc_type": "annual_report",
                     "page_number": rng.randint(1, 300), "text": t})
            for t, d in zip(texts, dense, strict=True)])
    latencies: list[float] = []
    for _ in range(queries):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10)))
        t0 = time.perf_counter()
        dense = await embedder.embed_query(text)
        await store.hybrid_search("bench", dense, sparse.encode_query(text), filters=None, limit=8)
        latencies.append((time.perf_counter() - t0) * 1000)
    await store.close()
    ordered = sorted(latencies)
    return {"chunks": chunks, "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filings-dir", default=os.environ.get("BEACON_FILINGS_DIR", DEFAULT_DIR))
    parser.add_argument("--repeat", type=int, default=1, help="extraction runs per filing; the best is kept")
    parser.add_argument("--chunks", type=int, default=0, help="hybrid query bench size (0: skip)")
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    from beacon_ingestion.settings import IngestionSettings
    from beacon_runtime.logs import configure_logging

    configure_logging("bench", "WARNING", json=False)
    manifest, filings = load_filings(Path(args.filings_dir))
    with tempfile.TemporaryDirectory() as vectors_dir:
        settings = IngestionSettings(vectors_dir=Path(vectors_dir), ingest_sample_corpus=False,
                                     seed_catalogue=True, reaper_interval_s=3600)
        result = {"extraction_alone": extraction_bench(filings, args.repeat),
                  "embedding_alone": asyncio.run(embedding_bench(filings, settings)),
                  "whole_pipeline": asyncio.run(pipeline_bench(manifest, filings, settings))}
    if args.chunks:
        result["hybrid_query"] = asyncio.run(query_bench(args.chunks, args.queries))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
