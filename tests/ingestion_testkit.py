"""Test kit for the ingestion tests: real PDFs made with fpdf2, a real HTTP server on
127.0.0.1 serving them, and the ingestion service wired on in-memory twins."""

from __future__ import annotations

import asyncio
import io
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from beacon_contracts import routing
from beacon_contracts.events import Envelope, JobKind
from beacon_ingestion.bootstrap import build
from beacon_runtime.adapters import Adapters
from beacon_runtime.files import InMemoryFileStore
from beacon_ingestion.repository.memory import InMemoryIngestionRepository
from beacon_ingestion.settings import IngestionSettings
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.vectors.edge import EdgeVectorStore

ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}
USER = {"X-User-Id": "7", "X-User-Role": "user"}

TABLE = [("Particulars", "FY2024", "FY2023", "Change %"),
         ("Revenue from operations", "9,74,864", "9,50,000", "2.6"),
         ("Net profit", "79,020", "73,670", "7.3"),
         ("EPS (Rs)", "102.90", "98.59", "4.4")]


def make_pdf(pages: int = 3, *, company: str = "Reliance Industries", marker: str = "") -> bytes:
    """A multi-page report: a heading per page, paragraphs, and a table on page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    topics = ["Chairman Letter", "Financial Highlights", "Risk Management", "Business Review",
              "Corporate Governance", "Outlook"]
    for number in range(1, pages + 1):
        pdf.add_page()
        topic = topics[(number - 1) % len(topics)]
        pdf.set_font("Helvetica", "B", 15)
        pdf.cell(0, 10, f"{number}. {topic}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 5, f"{company} page {number} discusses {topic.lower()} for the fiscal year "
                             f"FY2024. {marker} The company operates retail, digital services and energy "
                             "businesses across India. " * 3)
        if number == 2:
            pdf.ln(3)
            with pdf.table(col_widths=(70, 30, 30, 30)) as table:
                for row in TABLE:
                    cells = table.row()
                    for cell in row:
                        cells.cell(cell)
            pdf.ln(3)
            pdf.multi_cell(0, 5, "The board recommended a final dividend of Rs 10 per share.")
    return bytes(pdf.output())


def encrypted_pdf(*, user_password: str = "secret", algorithm: str = "RC4-128", pages: int = 1) -> bytes:
    """`make_pdf(pages)` encrypted by pypdf: RC4-128, AES-128 or AES-256 (the AES writers need
    `cryptography`, a dev dependency; the service reads AES with PDFium alone)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf(pages))).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf() -> bytes:
    from fpdf import FPDF
    from PIL import Image

    image = Image.new("RGB", (200, 100), (200, 30, 30))
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=100)
    return bytes(pdf.output())


CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ngarbage\n%%EOF"


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/pdf"})


class FileServer:
    """A real HTTP server on 127.0.0.1 serving routes; counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.default: Callable[[str], Route] | None = None
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                route = server.routes.get(self.path) or (server.default(self.path) if server.default else None)
                if route is None:
                    route = Route(404, b"not found", {"Content-Type": "text/plain"})
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def serve(self, path: str, body: bytes, **kwargs) -> str:
        self.routes[path] = Route(body=body, **kwargs)
        return self.base + path

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ManualClock:
    """Time for the pipeline's stall watchdog that moves only when a test calls `advance`:
    whether a stage stalled is then decided by the test, not by how busy the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._timers: list[tuple[float, asyncio.Future]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> asyncio.Future:
        # A future, not a coroutine: the deadline is taken when the watchdog asks for it.
        timer = asyncio.get_running_loop().create_future()
        self._timers.append((self.now + seconds, timer))
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for deadline, t in self._timers if deadline <= self.now]
        self._timers = [(d, t) for d, t in self._timers if d > self.now and not t.done()]
        for timer in due:
            if not timer.done():
                timer.set_result(None)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Envelope] = []

    async def __call__(self, envelope: Envelope) -> None:
        self.events.append(envelope)

    def of(self, event_type: str, job_id: str | None = None) -> list[dict]:
        return [e.payload for e in self.events if e.type == event_type
                and (job_id is None or e.payload.get("job_id") == job_id)]


class Harness:
    """The ingestion service on the in-process bus, in-memory rows and files, edge vectors."""

    def __init__(self, tmp_path: Path, server: FileServer | None = None, *, repo=None, files=None,
                 clock: ManualClock | None = None, **overrides) -> None:
        values = dict(
            ingest_allowed_hosts=f"127.0.0.1:{server.port}" if server else "",
            stage_stall_timeout_s=60.0, bus_max_attempts=3, ingest_sample_corpus=False,
            seed_catalogue=True,
        )
        values.update(overrides)
        self.settings = IngestionSettings(**values)
        self.bus = InMemoryBus(retry=RetryPolicy(max_attempts=self.settings.bus_max_attempts,
                                                 base_delay_s=0.01, max_delay_s=0.05))
        self.repo = repo or InMemoryIngestionRepository()
        self.files = files or InMemoryFileStore()
        self.vectors = EdgeVectorStore(tmp_path / "vectors")
        self.recorder = Recorder()
        self.bus.subscribe("test-recorder", [routing.JOB_PROGRESS, routing.JOB_COMPLETED,
                                             routing.DOCUMENT_INGESTED,
                                             routing.job_requested(JobKind.INGEST)], self.recorder)
        self.service = build(self.settings,
                             Adapters(self.settings, bus=self.bus, vectors=self.vectors, files=self.files),
                             repo=self.repo)
        self.pipeline = self.service.pipeline
        if clock is not None:
            self.pipeline.clock, self.pipeline.sleep = clock, clock.sleep
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.service.http),
                                        base_url="http://ingestion")

    async def __aenter__(self) -> Harness:
        await self.service.start()
        await self.bus.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()
        await self.bus.stop()
        await self.service.stop()
        await self.vectors.close()

    async def drain(self, timeout: float = 60.0) -> None:
        await self.bus.drain(timeout)

    async def ingest(self, url: str, **body) -> httpx.Response:
        payload = {"company_symbol": "RELIANCE.NS", "doc_type": "annual_report", "source_url": url,
                   "fiscal_period": "FY2024", **body}
        return await self.client.post("/api/v1/documents/ingest", json=payload, headers=USER)

    async def status(self, document_id: int) -> dict:
        return (await self.client.get(f"/api/v1/documents/{document_id}/ingestion-status")).json()


async def bootstrap_scenario(h: Harness, server: FileServer) -> None:
    """A bootstrap of three annual reports, read back through GET /admin/bootstrap/{task_id}:
    one ingested, one whose URL cannot be fetched (its reason listed), one with no source
    registered. `h` must be built with `bootstrap_registry(tmp_path, server)`."""
    task = (await h.client.post("/api/v1/admin/bootstrap", headers=ADMIN, json={
        "companies": ["TCS"], "doc_types": ["annual_report"], "years": [2024, 2023, 2022]})).json()
    assert task["estimated_documents"] == 2
    before = (await h.client.get(f"/api/v1/admin/bootstrap/{task['task_id']}", headers=ADMIN)).json()
    assert before["status"] in ("started", "running", "completed")
    assert [d["fiscal_period"] for d in before["documents"]] == ["FY2024", "FY2023", "FY2022"]
    await h.drain()
    after = await h.client.get(f"/api/v1/admin/bootstrap/{task['task_id']}", headers=ADMIN)
    assert after.status_code == 200, after.text
    body = after.json()
    assert body["status"] == "completed" and body["requested_by"] == ADMIN["X-User-Id"]
    assert body["requested"] == {"companies": ["TCS.NS"], "doc_types": ["annual_report"],
                                 "years": [2024, 2023, 2022]}
    fy24, fy23, fy22 = body["documents"]
    assert fy24["status"] == "completed" and fy24["error"] is None
    assert set(fy24["stages"].values()) == {"completed"} and fy24["document_id"] > 0
    assert fy23["status"] == "failed" and "cannot resolve host" in fy23["error"]
    assert fy23["stages"]["download"] == "failed"
    assert fy22 == {"symbol": "TCS.NS", "doc_type": "annual_report", "fiscal_period": "FY2022",
                    "source_url": None, "document_id": None, "status": "skipped", "stages": None,
                    "error": "no source registered for TCS.NS annual_report FY2022"}
    assert body["progress"] == {"total": 3, "waiting": 0, "pending": 0, "processing": 0,
                                "completed": 1, "failed": 1, "skipped": 1, "percent": 100.0}
    assert [(f["fiscal_period"], f["status"]) for f in body["failures"]] == [
        ("FY2023", "failed"), ("FY2022", "skipped")]
    assert body["started_at"] and body["finished_at"] and body["created_at"]

    missing = await h.client.get("/api/v1/admin/bootstrap/bootstrap-nope", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    refused = await h.client.get(f"/api/v1/admin/bootstrap/{task['task_id']}", headers=USER)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"


def bootstrap_registry(tmp_path: Path, server: FileServer) -> Path:
    """TCS's FY2024 report served by `server`, FY2023 on a host that cannot resolve, no FY2022."""
    import json

    server.serve("/tcs/AR_2024.pdf", make_pdf(2, marker="tcs-fy2024"))
    registry = tmp_path / "bootstrap_registry.json"
    registry.write_text(json.dumps({"sources": [
        {"symbol": "TCS.NS", "doc_type": "annual_report", "fiscal_period": "FY2024",
         "url": server.base + "/tcs/AR_2024.pdf"},
        {"symbol": "TCS.NS", "doc_type": "annual_report", "fiscal_period": "FY2023",
         "url": "https://filings.invalid/tcs/AR_2023.pdf"},
    ]}))
    return registry
