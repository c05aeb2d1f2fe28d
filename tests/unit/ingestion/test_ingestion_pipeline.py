"""The ingestion pipeline end to end on in-process twins: real PDFs from a real local HTTP
server, stage progress, injected failures and resumption, duplicates, refusals."""

from __future__ import annotations

import asyncio

import pytest
from beacon_ingestion.domain import NewDocument, StageState
from beacon_ingestion.pipeline.stages import Heartbeat
from ingestion_testkit import (
    ADMIN,
    CORRUPT_PDF,
    USER,
    FileServer,
    Harness,
    ManualClock,
    Route,
    bootstrap_registry,
    bootstrap_scenario,
    encrypted_pdf,
    image_only_pdf,
    make_pdf,
)

STAGES = ["download", "parse", "chunk", "embed", "index"]


@pytest.fixture
def server():
    s = FileServer()
    yield s
    s.stop()


async def test_ingest_runs_every_stage_and_becomes_searchable(tmp_path, server):
    url = server.serve("/ril/ar2024.pdf", make_pdf(3))
    async with Harness(tmp_path, server) as h:
        response = await h.ingest(url)
        assert response.status_code == 202
        body = response.json()
        assert body == {"document_id": body["document_id"], "status": "pending",
                        "message": "Document queued for ingestion"}
        document_id = body["document_id"]
        await h.drain()

        status = await h.status(document_id)
        assert status["status"] == "completed" and status["error"] is None
        assert status["progress"] == dict.fromkeys(STAGES, "completed")
        assert status["started_at"].endswith("Z") and status["estimated_completion"] is not None

        job = f"doc-{document_id}"
        progress = [(p["stage"], p["state"]) for p in h.recorder.of("JobProgress", job)]
        assert progress == [(s, state) for s in STAGES for state in ("in_progress", "completed")]
        [completed] = h.recorder.of("JobCompleted", job)
        assert completed["outcome"] == "completed" and completed["kind"] == "ingest"
        [ingested] = h.recorder.of("DocumentIngested")
        assert ingested["document_id"] == document_id and ingested["page_count"] == 3
        assert ingested["chunk_count"] >= 4 and ingested["company_symbol"] == "RELIANCE.NS"

        document = (await h.client.get(f"/api/v1/documents/{document_id}")).json()
        assert document["status"] == "completed" and document["page_count"] == 3
        assert document["company_symbol"] == "RELIANCE.NS" and document["company_id"] is not None
        assert document["title"] == "Annual Report FY2024" and document["file_size_bytes"] > 1000
        assert set(document) == {"id", "company_id", "company_symbol", "doc_type", "title",
                                 "fiscal_period", "document_date", "status", "chunk_count",
                                 "storage_path", "file_size_bytes", "page_count", "created_at"}

        chunks = await h.repo.chunks(document_id)
        assert {c.page_start for c in chunks} == {1, 2, 3}
        assert any(c.section == "2. Financial Highlights" for c in chunks)
        table = next(c for c in chunks if "Net profit" in c.text)
        assert "Net profit | FY2024: 79,020 | FY2023: 73,670" in table.text and table.page_start == 2

        hits = (await h.client.post("/internal/search", json={
            "query": "net profit FY2024", "company_symbols": ["RELIANCE"], "fiscal_periods": ["FY24"],
            "doc_types": ["annual_report"], "limit": 3})).json()["hits"]
        assert hits[0]["page_number"] == 2 and "Net profit" in hits[0]["text"]
        assert hits[0]["document_id"] == document_id and hits[0]["section"] == "2. Financial Highlights"
        assert hits[0]["document_title"] == "Annual Report FY2024"
        none = (await h.client.post("/internal/search", json={
            "query": "net profit", "company_symbols": ["TCS.NS"]})).json()
        assert none == {"hits": []}

        listed = (await h.client.get("/api/v1/companies/RELIANCE.NS/documents")).json()
        assert listed["documents"][0] == {
            "id": document_id, "doc_type": "annual_report", "title": "Annual Report FY2024",
            "fiscal_period": "FY2024", "document_date": None, "status": "completed",
            "chunk_count": ingested["chunk_count"], "download_url": f"/documents/{document_id}/download"}
        assert server.hits["/ril/ar2024.pdf"] == 1


async def test_download_endpoint_streams_the_file(tmp_path, server):
    pdf = make_pdf(2)
    url = server.serve("/a.pdf", pdf)
    async with Harness(tmp_path, server) as h:
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        response = await h.client.get(f"/api/v1/documents/{document_id}/download")
        assert response.status_code == 200 and response.content == pdf
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-length"] == str(len(pdf))
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        assert response.headers["etag"].strip('"') == (await h.repo.get_document(document_id)).sha256
        missing = await h.client.get("/api/v1/documents/999/download")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


async def test_status_shows_each_stage_while_it_runs(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(2))
    async with Harness(tmp_path, server) as h:
        entered, release = asyncio.Event(), asyncio.Event()

        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                if stage == "chunk":
                    entered.set()
                    await release.wait()
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document_id = (await h.ingest(url)).json()["document_id"]
        await asyncio.wait_for(entered.wait(), 30)
        status = await h.status(document_id)
        assert status["status"] == "processing"
        assert status["progress"] == {"download": "completed", "parse": "completed",
                                      "chunk": "in_progress", "embed": "pending", "index": "pending"}
        assert status["estimated_completion"] is not None
        release.set()
        await h.drain()
        assert (await h.status(document_id))["status"] == "completed"


async def test_failure_in_a_middle_stage_is_retried_from_that_stage(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(2))
    calls = {stage: 0 for stage in STAGES}
    async with Harness(tmp_path, server) as h:
        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                calls[stage] += 1
                if stage == "embed" and calls[stage] == 1:
                    raise ConnectionError("embedding server went away")
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        assert (await h.status(document_id))["status"] == "completed"
        assert calls == {"download": 1, "parse": 1, "chunk": 1, "embed": 2, "index": 1}
        assert server.hits["/a.pdf"] == 1
        stages = await h.repo.stages(document_id)
        assert stages["embed"].attempts == 2 and stages["parse"].attempts == 1
        embed_events = [p["state"] for p in h.recorder.of("JobProgress", f"doc-{document_id}")
                        if p["stage"] == "embed"]
        assert embed_events == ["in_progress", "failed", "in_progress", "completed"]


async def test_redelivery_after_a_crash_resumes_at_the_interrupted_stage(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(2))
    calls = {stage: 0 for stage in STAGES}
    async with Harness(tmp_path, server) as h:
        entered = asyncio.Event()

        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                calls[stage] += 1
                if stage == "embed" and calls[stage] == 1:
                    entered.set()
                    await asyncio.Event().wait()  # the worker "dies" here
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document = await h.repo.create_document(
            NewDocument(
                doc_type="annual_report", title="AR", company_symbol="RELIANCE.NS", source_url=url))
        crashed = asyncio.create_task(h.pipeline.run(document.id))
        await asyncio.wait_for(entered.wait(), 30)
        crashed.cancel()  # the run ends without acknowledging its message
        await asyncio.gather(crashed, return_exceptions=True)
        stages = await h.repo.stages(document.id)
        assert stages["embed"].state == StageState.IN_PROGRESS
        assert stages["chunk"].state == StageState.COMPLETED

        await h.pipeline.run(document.id)  # the bus delivers the message again
        assert (await h.status(document.id))["status"] == "completed"
        assert calls == {"download": 1, "parse": 1, "chunk": 1, "embed": 2, "index": 1}
        assert (await h.repo.get_document(document.id)).attempts == 2


async def test_two_deliveries_of_one_document_never_run_side_by_side(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(1))
    calls = {stage: 0 for stage in STAGES}
    async with Harness(tmp_path, server) as h:
        entered, release = asyncio.Event(), asyncio.Event()

        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                calls[stage] += 1
                if stage == "download":
                    entered.set()
                    await release.wait()
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document = await h.repo.create_document(NewDocument(
            doc_type="annual_report", title="AR", company_symbol="RELIANCE.NS", source_url=url))
        first = asyncio.create_task(h.pipeline.run(document.id))
        await asyncio.wait_for(entered.wait(), 30)
        await h.pipeline.run(document.id)  # same process, same worker: held, returns at once
        release.set()
        await first
        assert calls == dict.fromkeys(STAGES, 1)
        assert (await h.status(document.id))["status"] == "completed"


async def test_a_stage_that_stops_making_progress_is_cancelled_and_retried(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(1))
    calls = {"chunk": 0}
    clock, silent = ManualClock(), asyncio.Event()
    async with Harness(tmp_path, server, clock=clock, stage_stall_timeout_s=1.0) as h:
        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                if stage == "chunk":
                    calls["chunk"] += 1
                    if calls["chunk"] == 1:
                        silent.set()
                        await asyncio.Event().wait()  # hangs without a heartbeat
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document_id = (await h.ingest(url)).json()["document_id"]
        await asyncio.wait_for(silent.wait(), 30)
        clock.advance(1.0)
        await h.drain()
        assert (await h.status(document_id))["status"] == "completed"
        chunk = [p for p in h.recorder.of("JobProgress", f"doc-{document_id}") if p["stage"] == "chunk"]
        assert chunk[1]["state"] == "failed" and "no progress" in chunk[1]["detail"]
        assert (await h.repo.stages(document_id))["chunk"].attempts == 2
        # The retry was the bus's: one more delivery of the same message, no new message.
        assert len(h.recorder.of("JobRequested", f"doc-{document_id}")) == 1
        assert await h.bus.dead_letters("ingestion") == []


async def test_a_stage_silent_on_the_last_attempt_fails_the_document(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(1))
    clock, silent = ManualClock(), asyncio.Event()
    async with Harness(tmp_path, server, clock=clock, stage_stall_timeout_s=1.0,
                       bus_max_attempts=1) as h:
        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                if stage == "embed":
                    silent.set()
                    await asyncio.Event().wait()
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document_id = (await h.ingest(url)).json()["document_id"]
        await asyncio.wait_for(silent.wait(), 30)
        clock.advance(1.0)
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "failed"
        assert status["error"] == "embed failed after 1 attempt: no progress for 1s"
        assert await h.bus.dead_letters("ingestion") == []  # settled, not dead-lettered


async def test_documents_waiting_in_the_queue_are_never_requeued(tmp_path, server):
    """Issue: 74 filings at once, 47 re-queued as stalled while they only waited their turn.
    One worker slot, five documents, the first holding the slot (making progress) for three
    stall timeouts of the watchdog's clock: each document gets exactly one message and one run."""
    urls = [server.serve(f"/q{i}.pdf", make_pdf(1, marker=f"doc {i}")) for i in range(5)]
    stall, clock = 1.0, ManualClock()
    busy = {"beats": 0}
    async with Harness(tmp_path, server, clock=clock, worker_concurrency=1,
                       stage_stall_timeout_s=stall) as h:
        queued = asyncio.Event()

        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                if stage == "download" and document.source_url == urls[0]:
                    await asyncio.wait_for(queued.wait(), 30)  # the other four wait behind it
                    for _ in range(6):  # busy for 3 stall timeouts, and saying so
                        clock.advance(stall / 2)
                        heartbeat.beat("working")
                        busy["beats"] += 1
                        # Lets the watchdog wake in between; it finds a fresh beat either way.
                        await asyncio.sleep(0)
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        ids = [(await h.ingest(url)).json()["document_id"] for url in urls]
        queued.set()
        await h.drain()
        assert busy["beats"] == 6 and clock() == 1000.0 + 3 * stall
        for document_id in ids:
            assert (await h.status(document_id))["status"] == "completed"
            assert len(h.recorder.of("JobRequested", f"doc-{document_id}")) == 1
            assert (await h.repo.get_document(document_id)).attempts == 1
            assert (await h.repo.stages(document_id))["download"].attempts == 1


async def test_after_the_last_attempt_the_document_fails_with_the_reason(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(1))
    async with Harness(tmp_path, server, bus_max_attempts=2) as h:
        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                if stage == "index":
                    raise ConnectionError("vector store unreachable")
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "failed"
        assert status["progress"]["index"] == "failed" and status["progress"]["embed"] == "completed"
        assert status["error"] == "index failed after 2 attempts: vector store unreachable"
        [completed] = h.recorder.of("JobCompleted", f"doc-{document_id}")
        assert completed["outcome"] == "failed" and "vector store unreachable" in completed["error"]["message"]
        assert h.recorder.of("DocumentIngested") == []


async def test_duplicate_requests_and_identical_bytes_cost_nothing(tmp_path, server):
    pdf = make_pdf(2)
    first_url = server.serve("/first.pdf", pdf)
    mirror_url = server.serve("/mirror.pdf", pdf)
    async with Harness(tmp_path, server) as h:
        first = (await h.ingest(first_url)).json()
        again = (await h.ingest(first_url)).json()
        assert again["document_id"] == first["document_id"]
        assert again["message"] == "Document already queued for ingestion"
        await h.drain()
        after = (await h.ingest(first_url)).json()
        assert after == {"document_id": first["document_id"], "status": "completed",
                         "message": "Document already ingested"}
        points = await h.vectors.count(h.settings.qdrant_collection)
        original = await h.repo.get_document(first["document_id"])

        mirror = (await h.ingest(mirror_url)).json()
        assert mirror["document_id"] != first["document_id"]
        calls = []

        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                calls.append(stage)
                return await fn(document, heartbeat)
            return wrapped

        h.pipeline.stage_wrapper = wrapper
        await h.drain()
        assert calls == ["download"]  # recognised after the download: nothing else ran
        duplicate = await h.repo.get_document(mirror["document_id"])
        assert duplicate.status.value == "completed" and duplicate.duplicate_of == original.id
        assert duplicate.chunk_count == original.chunk_count
        assert await h.vectors.count(h.settings.qdrant_collection) == points
        status = await h.status(mirror["document_id"])
        assert status["progress"] == dict.fromkeys(STAGES, "completed")

        upload = await h.client.post(
            "/api/v1/documents/upload", headers=USER,
            data={"company_symbol": "RELIANCE.NS", "doc_type": "annual_report", "fiscal_period": "FY2024"},
            files={"file": ("ar.pdf", pdf, "application/pdf")})
        assert upload.status_code == 202
        assert upload.json() == {"document_id": original.id, "status": "completed",
                                 "message": "Document already ingested"}


async def test_reindexing_the_same_bytes_writes_no_duplicate_points(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(2))
    async with Harness(tmp_path, server) as h:
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        collection = h.settings.qdrant_collection
        points = await h.vectors.count(collection)
        chunks = await h.repo.chunks(document_id)
        assert points == len(chunks)
        document = await h.repo.get_document(document_id)
        await h.pipeline.stages.index(document, Heartbeat())
        assert await h.vectors.count(collection) == points
        assert [c.id for c in await h.repo.chunks(document_id)] == [c.id for c in chunks]


async def test_research_uploads_cannot_be_customer_material(tmp_path):
    """Customer material is a report-API key's own (test_ingestion_material.py): the research
    upload refuses its doc_type rather than making it searchable to every research user."""
    async with Harness(tmp_path) as h:
        response = await h.client.post(
            "/api/v1/documents/upload", headers=USER,
            data={"doc_type": "report_material", "title": "Client brief", "customer_id": "cust-42"},
            files={"file": ("brief.pdf", make_pdf(1, marker="Warehouse automation"), "application/pdf")})
        assert response.status_code == 400, response.text
        assert "POST /documents" in response.json()["error"]["details"][0]["message"]


async def test_upload_validation(tmp_path):
    async with Harness(tmp_path, upload_max_bytes=50_000) as h:
        pdf = make_pdf(1)

        def post(data, content=None, name="a.pdf"):
            return h.client.post("/api/v1/documents/upload", headers=USER, data=data,
                                 files={"file": (name, content or pdf, "application/pdf")})
        not_pdf = await post({"doc_type": "annual_report"}, content=b"<html>hello</html>")
        assert not_pdf.status_code == 400 and not_pdf.json()["error"]["details"][0]["field"] == "file"
        bad_type = await post({"doc_type": "novel"})
        assert bad_type.status_code == 400
        assert bad_type.json()["error"]["details"][0]["field"] == "doc_type"
        unknown = await post({"doc_type": "annual_report", "company_symbol": "NOPE"})
        assert unknown.status_code == 400
        assert unknown.json()["error"]["details"] == [{"field": "company_symbol",
                                                      "message": "unknown company NOPE"}]
        too_big = await post({"doc_type": "annual_report"}, content=b"%PDF-1.4" + b"0" * 200_000)
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        total, _ = await h.repo.list_documents()
        assert total == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.pdf",
        "http://localhost/x.pdf",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.pdf",
        "http://192.168.1.10/x.pdf",
        "http://[::1]/x.pdf",
        "http://[::ffff:127.0.0.1]/x.pdf",
        "http://2130706433/x.pdf",
        "http://0.0.0.0/x.pdf",
        "ftp://example.com/x.pdf",
        "file:///etc/passwd",
        "http://user:pw@example.com/x.pdf",
    ],
)
async def test_ssrf_targets_are_refused_before_any_connection(tmp_path, url):
    async with Harness(tmp_path) as h:
        response = await h.ingest(url)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and error["details"][0]["field"] == "source_url"
        total, _ = await h.repo.list_documents()
        assert total == 0


async def test_redirect_to_a_private_address_fails_the_document(tmp_path, server):
    server.serve("/go.pdf", b"", status=302, headers={"Location": "http://169.254.169.254/latest/"})
    async with Harness(tmp_path, server) as h:
        document_id = (await h.ingest(server.base + "/go.pdf")).json()["document_id"]
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "failed" and status["progress"]["download"] == "failed"
        assert "refused host '169.254.169.254'" in status["error"]
        assert server.hits["/go.pdf"] == 1  # refused at once: no retries
        assert (await h.repo.stages(document_id))["download"].attempts == 1


async def test_allowed_redirect_is_followed(tmp_path, server):
    server.serve("/real.pdf", make_pdf(1))
    server.serve("/go.pdf", b"", status=301, headers={"Location": "/real.pdf"})
    async with Harness(tmp_path, server) as h:
        document_id = (await h.ingest(server.base + "/go.pdf")).json()["document_id"]
        await h.drain()
        assert (await h.status(document_id))["status"] == "completed"
        assert server.hits["/real.pdf"] == 1


@pytest.mark.parametrize(
    ("body", "headers", "stage", "reason"),
    [
        (CORRUPT_PDF, None, "parse", "corrupt PDF"),
        (b"<html>login</html>", {"Content-Type": "text/html"}, "download", "content type 'text/html' is not a PDF"),
        (b"just text", {"Content-Type": "application/octet-stream"}, "download", "not a PDF"),
        ("encrypted", None, "parse", "encrypted PDF: a password is required"),
        ("image-only", None, "parse", "image-only PDF"),
        ("oversized", None, "download", "file too large"),
    ],
)
async def test_bad_files_fail_with_a_clear_reason(tmp_path, server, body, headers, stage, reason):
    if body == "encrypted":
        body = encrypted_pdf()
    elif body == "image-only":
        body = image_only_pdf()
    elif body == "oversized":
        body = make_pdf(1) + b"\n%" + b"x" * 10_000
    kwargs = {"headers": headers} if headers else {}
    url = server.serve("/f.pdf", body, **kwargs)
    async with Harness(tmp_path, server, download_max_bytes=5_000) as h:
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "failed" and status["progress"][stage] == "failed"
        assert reason in status["error"]
        assert (await h.repo.stages(document_id))[stage].attempts == 1  # permanent: no retry


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256", "RC4-128"])
async def test_encrypted_pdfs_that_open_without_a_password_are_ingested(tmp_path, server, algorithm):
    """Filings are often encrypted against editing only (an owner password, an empty user
    password); AES ones used to fail as "corrupt" (pypdf without `cryptography`)."""
    url = server.serve("/enc.pdf", encrypted_pdf(user_password="", algorithm=algorithm, pages=2))
    async with Harness(tmp_path, server) as h:
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "completed", status["error"]
        chunks = await h.repo.chunks(document_id)
        table = next(c for c in chunks if "Net profit" in c.text)
        assert "Net profit | FY2024: 79,020 | FY2023: 73,670" in table.text and table.page_start == 2


async def test_an_aes_pdf_that_needs_a_password_fails_with_that_reason(tmp_path, server):
    url = server.serve("/enc.pdf", encrypted_pdf(algorithm="AES-256"))
    async with Harness(tmp_path, server) as h:
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "failed" and status["progress"]["parse"] == "failed"
        assert "encrypted PDF: a password is required" in status["error"]


async def test_a_page_over_its_time_budget_fails_instead_of_hanging(tmp_path, server, monkeypatch):
    import subprocess
    import sys

    from beacon_ingestion.pipeline import parsing

    # A real child that takes the document and never answers: the budget must fire, whatever
    # the machine's load (a tiny budget on a real parser would race it).
    def stuck_child() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(); time.sleep(600)"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    monkeypatch.setattr(parsing._CHILDREN, "take", stuck_child)
    url = server.serve("/a.pdf", make_pdf(2))
    async with Harness(tmp_path, server, parse_page_timeout_s=1.0) as h:
        document_id = (await h.ingest(url)).json()["document_id"]
        await h.drain()
        status = await h.status(document_id)
        assert status["status"] == "failed" and "parsing timed out" in status["error"]


async def test_ingest_request_validation(tmp_path, server):
    async with Harness(tmp_path, server) as h:
        bad = await h.ingest(server.base + "/a.pdf", doc_type="novel", fiscal_period="H1")
        assert bad.status_code == 400
        fields = {d["field"] for d in bad.json()["error"]["details"]}
        assert fields == {"doc_type", "fiscal_period"}
        unknown = await h.ingest(server.base + "/a.pdf", company_symbol="NOPE.NS")
        assert unknown.status_code == 400
        missing = await h.client.get("/api/v1/documents/12345/ingestion-status")
        assert missing.status_code == 404


async def test_publish_failure_marks_the_document_failed_and_answers_503(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(1))
    async with Harness(tmp_path, server) as h:
        async def broken(envelope):
            raise ConnectionError("broker down")

        h.bus.publish = broken
        response = await h.ingest(url)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        _, [document] = await h.repo.list_documents()
        assert document.status.value == "failed" and document.error == "could not queue the ingestion job"


async def test_bootstrap_resolves_sources_through_the_registry(tmp_path, server):
    import json

    server.default = lambda path: Route(body=make_pdf(1, marker=path))
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps({"sources": [
        {"symbol": "*", "doc_type": "annual_report",
         "url_template": server.base + "/{nse_symbol}/AR_{fiscal_year}.pdf"},
        {"symbol": "ITC.NS", "doc_type": "quarterly_result", "fiscal_period": "Q2FY25",
         "url": server.base + "/itc/q2fy25.pdf", "title": "ITC Q2FY25 results"},
    ]}))
    async with Harness(tmp_path, server, source_registry_path=registry) as h:
        response = await h.client.post("/api/v1/admin/bootstrap", headers=ADMIN, json={
            "companies": ["HDFCBANK.NS", "ITC.NS"], "doc_types": ["annual_report"],
            "years": [2024, 2023, 2022]})
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "started" and body["estimated_documents"] == 6
        assert body["task_id"].startswith("bootstrap-")
        quarterly = (await h.client.post("/api/v1/admin/bootstrap", headers=ADMIN, json={
            "companies": ["ITC"], "doc_types": ["quarterly_result"], "years": [2025]})).json()
        assert quarterly["estimated_documents"] == 1  # only Q2FY25 is known
        await h.drain()
        total, documents = await h.repo.list_documents(limit=10)
        assert total == 7 and {d.status.value for d in documents} == {"completed"}
        assert server.hits["/HDFCBANK/AR_2023.pdf"] == 1
        assert {d.title for d in documents} >= {"Annual Report FY2022", "ITC Q2FY25 results"}
        [done] = h.recorder.of("JobCompleted", body["task_id"])
        assert done["kind"] == "bootstrap" and done["result"]["documents"] == 6

        stats = (await h.client.get("/api/v1/admin/stats/ingestion", headers=ADMIN)).json()
        assert stats["total_documents"] == 7
        assert stats["by_status"]["completed"] == 7 and stats["by_type"] == {
            "annual_report": 6, "quarterly_result": 1}
        assert stats["total_chunks"] == sum(d.chunk_count for d in documents)
        assert stats["last_24h"]["documents_ingested"] == 7

        refused = await h.client.post("/api/v1/admin/bootstrap", headers=USER, json={
            "companies": ["ITC"], "doc_types": ["annual_report"], "years": [2024]})
        assert refused.status_code == 403
        unknown = await h.client.post("/api/v1/admin/bootstrap", headers=ADMIN, json={
            "companies": ["NOPE"], "doc_types": ["annual_report"], "years": [2024]})
        assert unknown.status_code == 400


async def test_a_bootstrap_task_reads_back_per_document_with_the_reasons(tmp_path, server):
    registry = bootstrap_registry(tmp_path, server)
    async with Harness(tmp_path, server, source_registry_path=registry) as h:
        await bootstrap_scenario(h, server)


async def test_a_bootstrap_that_cannot_be_queued_is_a_failed_task(tmp_path, server):
    async with Harness(tmp_path, server) as h:
        refused = []

        async def broken(envelope):
            refused.append(envelope.correlation_id)  # a bootstrap's correlation id is its task id
            raise ConnectionError("broker down")

        h.bus.publish = broken
        response = await h.client.post("/api/v1/admin/bootstrap", headers=ADMIN, json={
            "companies": ["TCS"], "doc_types": ["annual_report"], "years": [2024]})
        assert response.status_code == 503
        [task_id] = refused
        body = (await h.client.get(f"/api/v1/admin/bootstrap/{task_id}", headers=ADMIN)).json()
        assert body["status"] == "failed" and "broker down" in body["error"]


async def test_document_listing_filters(tmp_path, server):
    url = server.serve("/a.pdf", make_pdf(1))
    async with Harness(tmp_path, server) as h:
        await h.ingest(url)
        await h.ingest(server.serve("/b.pdf", make_pdf(1, marker="b")), doc_type="quarterly_result",
                       fiscal_period="Q2FY25", company_symbol="TCS")
        await h.drain()
        body = (await h.client.get("/api/v1/documents", params={"status": "completed",
                                                                 "doc_type": "annual_report"})).json()
        assert body["total"] == 1 and body["documents"][0]["company_symbol"] == "RELIANCE.NS"
        tcs = (await h.client.get("/api/v1/documents", params={"company_symbol": "TCS"})).json()
        assert tcs["total"] == 1 and tcs["documents"][0]["fiscal_period"] == "Q2FY25"
        bad = await h.client.get("/api/v1/documents", params={"status": "weird"})
        assert bad.status_code == 400
