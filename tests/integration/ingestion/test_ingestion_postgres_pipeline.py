"""The pipeline on the real Postgres (a schema per test, dropped after) with files on disk:
rows, stages and chunks survive a process that dies mid-stage, and the next one resumes."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from beacon_ingestion.domain import NewDocument
from beacon_runtime.files import LocalFileStore
from beacon_ingestion.repository.postgres import PostgresIngestionRepository
from ingestion_testkit import FileServer, Harness, bootstrap_registry, bootstrap_scenario, make_pdf
from pgtools_ingestion import drop_schema

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def schema():
    name = "t_ingest_" + uuid.uuid4().hex[:10]
    yield name
    await drop_schema(DATABASE_URL, name)


@pytest.fixture
def server():
    s = FileServer()
    yield s
    s.stop()


async def repository(schema: str) -> PostgresIngestionRepository:
    repo = PostgresIngestionRepository(DATABASE_URL, schema)
    await repo.start()  # runs the migrations into the fresh schema
    return repo


async def test_ingest_on_postgres_and_resume_after_a_dead_worker(tmp_path, server, schema):
    url = server.serve("/ar.pdf", make_pdf(3))
    files = LocalFileStore(tmp_path / "files")
    calls = {"download": 0, "parse": 0, "embed": 0}

    repo_a = await repository(schema)
    async with Harness(tmp_path, server, repo=repo_a, files=files) as first:
        response = await first.ingest(url)
        assert response.status_code == 202
        document_id = response.json()["document_id"]
        await first.drain()
        status = await first.status(document_id)
        assert status["status"] == "completed" and status["progress"]["index"] == "completed"
        chunks = await repo_a.chunks(document_id)
        assert chunks and all(c.document_id == document_id for c in chunks)
        assert (await first.client.get("/api/v1/companies/RELIANCE.NS")).json()["symbol"] == "RELIANCE.NS"

        # A second document whose worker dies during embedding.
        entered = asyncio.Event()

        def wrapper(stage, fn):
            async def wrapped(document, heartbeat):
                if stage in calls:
                    calls[stage] += 1
                if stage == "embed" and calls["embed"] == 1:
                    entered.set()
                    await asyncio.Event().wait()
                return await fn(document, heartbeat)
            return wrapped

        first.pipeline.stage_wrapper = wrapper
        doc = await repo_a.create_document(NewDocument(
            doc_type="annual_report", title="AR FY2023", company_symbol="RELIANCE.NS",
            fiscal_period="FY2023", source_url=server.serve("/ar23.pdf", make_pdf(2, marker="FY2023"))))
        dying = asyncio.create_task(first.pipeline.run(doc.id))
        await asyncio.wait_for(entered.wait(), 30)
        dying.cancel()  # the process ends: its in-process bus and the message with it
        await asyncio.gather(dying, return_exceptions=True)
    await repo_a.close()

    # A new process on the same rows: with an in-process bus nothing else would ever deliver
    # the open document again, so start-up re-queues it, and it resumes at embed.
    repo_b = await repository(schema)
    async with Harness(tmp_path, server, repo=repo_b, files=files, database_url=DATABASE_URL) as second:
        second.pipeline.stage_wrapper = wrapper
        await second.drain()
        final = await second.status(doc.id)
        assert final["status"] == "completed"
        assert calls == {"download": 1, "parse": 1, "embed": 2}  # resumed at embed
        assert len(second.recorder.of("JobRequested", f"doc-{doc.id}")) == 1
        assert (await repo_b.get_document(doc.id)).attempts == 2
        stats = (await second.client.get("/api/v1/admin/stats/ingestion",
                                         headers={"X-User-Role": "admin"})).json()
        assert stats["by_status"]["completed"] == 2
        listed = (await second.client.get("/api/v1/documents", params={"company_symbol": "RELIANCE"})).json()
        assert listed["total"] == 2
    await repo_b.close()


async def test_a_bootstrap_task_is_a_record_on_postgres(tmp_path, server, schema):
    repo = await repository(schema)
    registry = bootstrap_registry(tmp_path, server)
    async with Harness(tmp_path, server, repo=repo, source_registry_path=registry) as h:
        await bootstrap_scenario(h, server)
    await repo.close()
