"""`beacon ingest`: PDFs from folders, files or a manifest CSV, uploaded through
POST /api/v1/documents/upload and followed on GET /documents/{id}/ingestion-status (the
route the frontend polls) with a progress bar per document and its current stage."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from beacon_cli.client import Api, ApiFailure

STAGES = ("download", "parse", "chunk", "embed", "index")
MANIFEST_COLUMNS = ("path", "company", "period", "doc_type", "title")
FINISHED = ("completed", "failed")


@dataclass
class Planned:
    path: Path
    company: str | None
    period: str | None
    doc_type: str
    title: str | None = None


def plan(paths: list[Path], *, company: str | None, period: str | None, doc_type: str) -> list[Planned]:
    """Every PDF named: a folder gives its PDFs (sorted), a .csv is a manifest with the columns
    path,company,period,doc_type,title (path relative to the manifest; empty cells take the flags)."""
    planned: list[Planned] = []
    for path in paths:
        if path.is_dir():
            planned += [Planned(p, company, period, doc_type) for p in sorted(path.glob("*.pdf"))]
        elif path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    file = Path(row["path"])
                    planned.append(Planned(file if file.is_absolute() else path.parent / file,
                                           row.get("company") or company, row.get("period") or period,
                                           row.get("doc_type") or doc_type, row.get("title") or None))
        else:
            planned.append(Planned(path, company, period, doc_type))
    return planned


def upload(api: Api, item: Planned) -> int:
    fields = {"doc_type": item.doc_type, "company_symbol": item.company, "fiscal_period": item.period,
              "title": item.title}
    with item.path.open("rb") as handle:
        accepted = api.post("/api/v1/documents/upload",
                            data={k: v for k, v in fields.items() if v},
                            files={"file": (item.path.name, handle, "application/pdf")})
    return accepted["document_id"]


def run(api: Api, planned: list[Planned], console: Console, *, poll_s: float = 0.5,
        timeout_s: float = 1800.0) -> int:
    """Upload and follow; returns how many documents did not complete."""
    columns = (TextColumn("{task.fields[name]:<32.32}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[stage]:<24}"), TimeElapsedColumn())
    failures = 0
    with Progress(*columns, console=console, transient=False) as progress:
        open_tasks: dict[int, int] = {}  # document id -> progress task
        for item in planned:
            task = progress.add_task("", total=len(STAGES), name=item.path.name, stage="uploading")
            if not item.path.is_file():
                progress.update(task, stage="failed: no such file")
                failures += 1
                continue
            try:
                document_id = upload(api, item)
            except ApiFailure as exc:
                progress.update(task, stage="failed")
                console.print(f"[red]{escape(item.path.name)}: {escape(str(exc))}[/red]")
                failures += 1
                continue
            progress.update(task, stage=f"queued as #{document_id}")
            open_tasks[document_id] = task
        deadline = time.monotonic() + timeout_s
        errors: dict[int, str] = {}
        while open_tasks and time.monotonic() < deadline:
            for document_id, task in list(open_tasks.items()):
                status = api.get(f"/api/v1/documents/{document_id}/ingestion-status")
                stages = status.get("progress") or {}
                done = sum(1 for s in STAGES if stages.get(s) == "completed")
                current = next((s for s in STAGES if stages.get(s) != "completed"), "done")
                state = status["status"]
                label = state if state in FINISHED else f"{current} ({stages.get(current, 'pending')})"
                progress.update(task, completed=done if state != "completed" else len(STAGES), stage=label)
                if state in FINISHED:
                    del open_tasks[document_id]
                    if state == "failed":
                        failures += 1
                        errors[document_id] = status.get("error") or "failed"
            if open_tasks:
                time.sleep(poll_s)
        for document_id, task in open_tasks.items():
            progress.update(task, stage="still running (timed out waiting)")
            failures += 1
    for document_id, error in errors.items():
        console.print(f"[red]document {document_id} failed: {escape(error)}[/red]")
    return failures
