"""Grounded drafting on real public RFPs: our offline drafter beside a plain baseline (not a test).

    nice -n 10 uv run --frozen python bench/report_grounding.py [--runs 3] [--sections all]
        [--out bench/results/report.md]

Documents: real public requests for proposals found in public GitHub repositories (listed
with their source, commit and sha256 in bench/eval/rfp_documents.json), cached under
/work/shared/eval/rfp (or RFP_DIR); none was written by us. Each is uploaded as one
customer's material and ingested by the real ingestion pipeline (in process: parser child,
chunks per page, the default embedder, qdrant-edge). Then for each section below (or, with
`--sections all`, every section title the contracts allow for every report type, in the
report's order), in one session per customer and report type, the report writer's graph
drafts the section offline, and the
baseline pastes the top passages the same search gives for each topic of the section guide
under that topic's heading, each passage followed by its one footnote (what a plain
"retrieve and paste" would produce).

Measured on both, sentence by sentence (a factual sentence: at least six words with
letters, not a heading, not a line saying the material is silent):
- grounded: the sentence carries a footnote, and the passage that footnote cites supports
  it (at least 80 % of its content words and every figure it states occur in the passage);
- on topic: the sentence shares a content word with the topic it stands under (topic words
  and their hints, domain.TOPIC_HINTS);
- words per section and topics with content, in total and per section.
- and, stricter (bench/report_judge.py, independent of the drafter's word-overlap scoring):
  sentences re-segmented with pysbd, filed under the topic all-MiniLM-L6-v2 finds closest,
  list-enumerator / glued-heading / fragment artefacts, debris and near-duplicates.
And the offline draft latency (retrieval, drafting and checks, as the worker runs them),
p50/p95 over every section of every run.

For the extractive drafter "grounded" is true by construction when the plumbing is right
(every quoted sentence keeps the footnote of the passage it came from); the number checks
that plumbing and the baseline shows what the footnote of a pasted passage is worth.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MANIFEST = BENCH / "eval" / "rfp_documents.json"
SECTIONS = [
    ("Technical_scope", "Requirements Overview"),
    ("Technical_scope", "Security & Compliance"),
    ("Technical_scope", "Implementation Timeline"),
    ("Technical_scope", "Integration Points"),
    ("Technical_scope", "Risks & Mitigations"),
    ("Feasibility_report", "Cost-Benefit Analysis"),
    ("Commercial_proposal", "Payment Terms"),
]
SECTION_CHOICES = ("seven", "all")


def sections_to_draft(which: str) -> list[tuple[str, str]]:
    """(report type, section title) pairs: the seven above, or every title the contracts allow."""
    if which == "all":
        from beacon_contracts.sections import SECTIONS as ALLOWED

        return [(report_type.value, title) for report_type, titles in ALLOWED.items() for title in titles]
    return list(SECTIONS)
OWNER = "static:0"


def load_documents(directory: Path) -> list[dict]:
    manifest = json.loads(MANIFEST.read_text())
    documents = []
    for entry in manifest["documents"]:
        path = directory / entry["file"]
        if not path.exists():
            sys.exit(f"missing {path}: fetch {entry['repository']} at {entry['commit']} ({entry['path']})")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            sys.exit(f"{path} does not match the manifest's sha256")
        documents.append({**entry, "data": data})
    return documents


async def run(args) -> str:
    from beacon_contracts.material import MaterialSearchRequest
    from beacon_ingestion.bootstrap import build as build_ingestion
    from beacon_ingestion.settings import IngestionSettings
    from beacon_report_writer.domain import section_guide, topic_query
    from beacon_report_writer.drafter import OfflineDrafter
    from beacon_report_writer.graph import build_graph
    from beacon_report_writer.grounding import Passage, terms
    from beacon_report_writer.repository import InMemorySessionDrafts
    from beacon_report_writer.sources import HttpMaterialSource
    from beacon_runtime.adapters import Adapters
    from beacon_runtime.bus.memory import InMemoryBus
    from beacon_runtime.vectors.edge import EdgeVectorStore
    from beacon_contracts.sections import ReportType

    import pysbd
    from beacon_runtime.embeddings.minilm import MiniLMEmbedder
    from report_judge import Judge, Judged

    documents = [d for d in load_documents(Path(args.rfp_dir)) if not args.only or d["file"] == args.only]
    drafted = sections_to_draft(args.sections)
    judge = Judge(MiniLMEmbedder(), pysbd.Segmenter(language="en", clean=False))
    judged = {"ours": Judged(), "baseline": Judged()}
    judged_per_document: dict[str, dict[str, Judged]] = {}
    bus = InMemoryBus()
    scratch = Path(tempfile.mkdtemp(prefix="report-bench-"))
    vectors = EdgeVectorStore(scratch / "vectors")
    ingestion = build_ingestion(IngestionSettings(ingest_sample_corpus=False, stage_stall_timeout_s=600),
                                Adapters(bus=bus, vectors=vectors))
    await ingestion.start()
    await bus.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=ingestion.http), base_url="http://ingestion",
                               timeout=600)
    source = HttpMaterialSource(client)
    headers = {"X-Material-Owner": OWNER}
    started = time.perf_counter()
    for document in documents:
        response = await client.post("/internal/material/documents", headers=headers, data={
            "customer_id": document["customer_id"], "title": document["title"]},
            files={"file": (document["file"], document["data"])})
        response.raise_for_status()
        document["document_id"] = response.json()["document_id"]
    await bus.drain(1800)
    ingest_s = time.perf_counter() - started
    for document in documents:
        detail = (await client.get(f"/internal/material/documents/{document['document_id']}", headers=headers)).json()
        document["pages"], document["chunks"], document["status"] = detail["page_count"], detail["chunk_count"], detail["status"]

    latencies: list[float] = []
    totals = {"ours": _Counts(), "baseline": _Counts()}
    per_document: dict[str, dict[str, _Counts]] = {}
    per_section: dict[tuple[str, str], dict[str, _Counts | Judged]] = {}
    samples: dict[str, str] = {}
    for run_index in range(args.runs):
        for document in documents:
            graph = build_graph(OfflineDrafter(), InMemorySessionDrafts(), source)
            counts = per_document.setdefault(document["file"], {"ours": _Counts(), "baseline": _Counts()})
            for report_type, title in drafted:
                # One session per report: its sections meet there (figure checks, the
                # executive summary's points), not those of another report type.
                params = {"session_id": f"bench-{run_index}-{report_type}", "type": report_type,
                          "customer_id": document["customer_id"], "opportunity_id": "rfp",
                          "section_title": title}
                t0 = time.perf_counter()
                state = await graph.ainvoke({"kind": "generate", "params": params, "owner": OWNER})
                latencies.append(time.perf_counter() - t0)
                if run_index:
                    continue  # quality is deterministic: measured once, latency every run
                markdown = base64.b64decode(state["result"]["generated_section_b64"]).decode()
                passages = {str(p["n"]): Passage.from_task(p) for p in state["grounding"]["passages"]}
                cited = {str(c["index"]): c for c in state["result"].get("citations", [])}
                ours = measure(markdown, {k: c["source_text"] for k, c in cited.items()},
                               _passage_texts(state), section_guide(ReportType(report_type), title), terms)
                guide = section_guide(ReportType(report_type), title)
                found = await source.search(OWNER, MaterialSearchRequest(
                    customer_id=document["customer_id"], opportunity_id="rfp",
                    queries=[topic_query(t) for t in guide.covers], limit=args.baseline_passages))
                baseline_md, baseline_passages = baseline(title, guide, found)
                theirs = measure(baseline_md, baseline_passages, baseline_passages, guide, terms)
                section_counts = per_section.setdefault((report_type, title), {
                    "ours": _Counts(), "baseline": _Counts(), "judged": Judged()})
                section_counts["ours"].add(ours)
                section_counts["baseline"].add(theirs)
                for name, result in (("ours", ours), ("baseline", theirs)):
                    totals[name].add(result)
                    counts[name].add(result)
                strict = judged_per_document.setdefault(document["file"], {"ours": Judged(), "baseline": Judged()})
                for name, text in (("ours", markdown), ("baseline", baseline_md)):
                    verdict = judge.judge(title, text)
                    judged[name].add(verdict)
                    strict[name].add(verdict)
                    if name == "ours":
                        section_counts["judged"].add(verdict)
                if (document["file"], title) == (args.sample_document, args.sample_section):
                    samples["ours"], samples["baseline"] = markdown, baseline_md
    await client.aclose()
    await bus.stop()
    await ingestion.stop()
    await vectors.close()
    return report(args, documents, drafted, totals, per_document, per_section, latencies, ingest_s,
                  samples, judged, judged_per_document)


def _passage_texts(state) -> dict[str, str]:
    """Footnote index -> the full text of the passage it cites (settle_footnotes renumbers
    passages in order of appearance; the citation's source_text is one sentence of it)."""
    result = state["result"]
    passages = state["grounding"]["passages"]
    texts = {}
    for citation in result.get("citations", []):
        match = [p for p in passages if p["document_id"] == citation["document_id"]
                 and p["page_number"] == citation["page_number"] and citation["source_text"] in " ".join(p["text"].split())]
        texts[str(citation["index"])] = match[0]["text"] if match else citation["source_text"]
    return texts


def baseline(title: str, guide, found) -> tuple[str, dict[str, str]]:
    lines = [f"## {title}"]
    passages: dict[str, str] = {}
    for topic, results in zip(guide.covers, found.results, strict=False):
        lines += ["", f"### {topic}", ""]
        if not results.hits:
            lines.append(f"The material says nothing about {topic.lower()}.")
        for hit in results.hits:
            index = str(len(passages) + 1)
            passages[index] = hit.text
            lines.append(" ".join(hit.text.split()) + f"[^{index}]")
            lines.append("")
    return "\n".join(lines) + "\n", passages


class _Counts:
    def __init__(self) -> None:
        self.factual = self.grounded = self.on_topic = self.words = self.sections = 0
        self.topics = self.covered = 0

    def add(self, other: dict) -> None:
        for key in ("factual", "grounded", "on_topic", "words", "topics", "covered"):
            setattr(self, key, getattr(self, key) + other[key])
        self.sections += 1

    def share(self, key: str) -> str:
        return f"{getattr(self, key) / self.factual:.3f}" if self.factual else "n/a"


def measure(markdown: str, cited_text: dict[str, str], passage_text: dict[str, str], guide, terms) -> dict:
    """Sentence-level counts of a section (see the module doc)."""
    import re

    from beacon_report_writer.domain import TOPIC_HINTS
    from beacon_report_writer.grounding import figure_tokens, markers, sentences, strip_definitions, without_markers

    body, _ = strip_definitions(markdown)
    topic_terms: set[str] = set()
    counts = {"factual": 0, "grounded": 0, "on_topic": 0, "words": 0, "topics": len(guide.covers), "covered": 0}
    covered = False
    for line in body.splitlines():
        heading = re.match(r"^#{3,6}\s+(.+)$", line)
        if heading:
            if covered:
                counts["covered"] += 1
            covered = False
            topic = heading.group(1)
            topic_terms = terms(f"{topic} {TOPIC_HINTS.get(topic, '')}")
            continue
        if line.startswith(("#", ">", "*", "_")) or "material says nothing" in line:
            continue
        for sentence in sentences(line):
            plain = without_markers(sentence)
            words = plain.split()
            if len(words) < 6 or sum(c.isalpha() for c in plain) < 0.5 * len(plain):
                continue
            counts["factual"] += 1
            counts["words"] += len(words)
            covered = True
            if terms(plain) & topic_terms:
                counts["on_topic"] += 1
            # Grounded in what it cites: one passage, or two chunks a sentence runs across.
            cited = [passage_text.get(label) or cited_text.get(label) or "" for label in markers(sentence)]
            if any(text and _supports(plain, text, terms, figure_tokens)
                   for text in [*cited, " ".join(cited) if len(cited) > 1 else ""]):
                counts["grounded"] += 1
    if covered:
        counts["covered"] += 1
    return counts


def _supports(sentence: str, passage: str, terms, figure_tokens) -> bool:
    mine = terms(sentence)
    if not mine:
        return False
    theirs = terms(passage)
    figures_ok = all(any(abs(value - v) < 1e-9 for _, v in figure_tokens(passage))
                     for _, value in figure_tokens(sentence))
    return len(mine & theirs) / len(mine) >= 0.8 and figures_ok


def report(args, documents, drafted, totals, per_document, per_section, latencies, ingest_s, samples,
           judged, judged_per_document) -> str:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    lines = [
        "# Grounded report sections on real public RFPs",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this machine (2 shared cores), command:",
        "",
        f"    nice -n 10 uv run --frozen python bench/report_grounding.py --runs {args.runs}"
        + (f" --sections {args.sections}" if args.sections != "seven" else "")
        + (f" --only {args.only}" if args.only else ""),
        "",
        "Documents (real public RFPs from public GitHub repositories, none written by us; "
        "bench/eval/rfp_documents.json):",
        "",
        "| document | source | pages | chunks |",
        "|---|---|---|---|",
        *[f"| {d['title']} | {d['repository']} `{d['path']}` | {d['pages']} | {d['chunks']} |" for d in documents],
        "",
        f"Ingestion of the {len(documents)} documents (parse, chunk, embed, index): {ingest_s:.1f} s.",
        f"Sections per document ({len(drafted)}): {', '.join(f'{t} ({r})' for r, t in drafted)}.",
        "",
        "| | factual sentences | grounded (footnote whose passage supports it) | on topic | "
        "words per section | topics with content |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("ours", "offline extractive drafter"),
                        ("baseline", f"baseline: top {args.baseline_passages} passages per topic pasted")):
        c = totals[name]
        lines.append(f"| {label} | {c.factual} | {c.share('grounded')} | {c.share('on_topic')} | "
                     f"{c.words // max(c.sections, 1)} | {c.covered}/{c.topics} |")
    lines += ["", "Per document (grounded / on topic, ours vs baseline):", "",
              "| document | ours grounded | baseline grounded | ours on topic | baseline on topic |",
              "|---|---|---|---|---|"]
    for name, counts in per_document.items():
        lines.append(f"| {name} | {counts['ours'].share('grounded')} | {counts['baseline'].share('grounded')} | "
                     f"{counts['ours'].share('on_topic')} | {counts['baseline'].share('on_topic')} |")
    lines += ["", "Stricter judge (bench/report_judge.py: pysbd sentences, topic by all-MiniLM-L6-v2, "
              "not the drafter's word overlap):", "",
              "| | sentences | filed under closest topic | with artefact | enumerator | glued heading | "
              "fragment | debris pieces | near-duplicate pairs | clean and filed right |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name, label in (("ours", "offline extractive drafter"), ("baseline", "baseline")):
        j = judged[name]
        lines.append(f"| {label} | {j.sentences} | {j.share('filed_right')} | {j.share('with_artefact')} | "
                     f"{j.enumerator} | {j.heading} | {j.fragment} | {j.debris} | {j.duplicates} | "
                     f"{j.share('clean_and_filed')} |")
    lines += ["", "| document | ours filed right | baseline filed right | ours clean and filed | "
              "baseline clean and filed |", "|---|---|---|---|---|"]
    for name, counts in judged_per_document.items():
        lines.append(f"| {name} | {counts['ours'].share('filed_right')} | {counts['baseline'].share('filed_right')} | "
                     f"{counts['ours'].share('clean_and_filed')} | {counts['baseline'].share('clean_and_filed')} |")
    lines += ["", "Per section, ours over every document (filed right: the stricter judge's; "
              "topics with content: of the guide's topics, summed over documents):", "",
              "| report type | section | factual sentences | grounded | filed right | topics with content |",
              "|---|---|---|---|---|---|"]
    for (report_type, title), counts in per_section.items():
        ours = counts["ours"]
        lines.append(f"| {report_type} | {title} | {ours.factual} | {ours.share('grounded')} | "
                     f"{counts['judged'].share('filed_right')} | {ours.covered}/{ours.topics} |")
    lines += ["", "Misfiled examples (ours, first of each document):", "",
              *[f"- {example}" for example in judged["ours"].misfiled_examples[:9]]]
    lines += ["", f"Offline draft latency over {len(latencies)} sections ({args.runs} runs): "
              f"p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms.",
              ""]
    if samples:
        lines += [f"## Sample: {args.sample_section}, {args.sample_document} (decoded Markdown)", "",
                  "Ours:", "", "```markdown", samples["ours"].rstrip(), "```", "",
                  "Baseline:", "", "```markdown", samples["baseline"].rstrip()[:4000], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-passages", type=int, default=2)
    parser.add_argument("--rfp-dir", default=os.environ.get("RFP_DIR", "/work/shared/eval/rfp"))
    parser.add_argument("--sample-document", default="idfoi_epayment_rfp.pdf")
    parser.add_argument("--sample-section", default="Security & Compliance")
    parser.add_argument("--only", help="one document of the manifest (its file name)")
    parser.add_argument("--sections", choices=SECTION_CHOICES, default="seven",
                        help="the seven sections above (default) or every section of every report type")
    parser.add_argument("--out", default=str(BENCH / "results" / "report.md"))
    args = parser.parse_args()
    text = asyncio.run(run(args))
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
