"""The `beacon` CLI against a real server: the embedded app in its own process on a free port
(as `make dev` runs it), driven command by command with the session file in a temp dir."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from beacon_cli.main import app
from ingestion_testkit import make_pdf
from processes import EMBEDDED_ADMIN as ADMIN
from processes import embedded_app
from typer.testing import CliRunner


@pytest.fixture
async def server(tmp_path):
    async with embedded_app(tmp_path) as proc:
        yield proc.url


@pytest.fixture
def beacon(tmp_path, monkeypatch):
    config = tmp_path / "config"
    monkeypatch.setenv("BEACON_CONFIG_DIR", str(config))
    monkeypatch.delenv("BEACON_URL", raising=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None):
        result = runner.invoke(app, list(args), input=stdin)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    run.config = config
    return run


async def wait_for_sample_corpus(url: str) -> None:
    import asyncio

    async with httpx.AsyncClient(base_url=url) as client:
        token = (await client.post("/api/v1/auth/login", json=ADMIN)).json()["access_token"]
        for _ in range(300):
            body = (await client.get("/api/v1/documents?status=completed",
                                     headers={"Authorization": f"Bearer {token}"})).json()
            if body["total"] >= 6:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the sample corpus was not ingested")


async def test_login_companies_ingest_and_a_streamed_question(server, beacon, tmp_path):
    url = ["--url", server]
    assert "not logged in" in beacon(*url, "companies", "list", code=1)
    assert "UNAUTHORIZED (401)" in beacon(*url, "login", "--email", ADMIN["email"],
                                          "--password", "wrong-password", code=1)
    assert not (beacon.config / "credentials.json").exists()

    # The password is prompted for (hidden) when not given.
    out = beacon(*url, "login", "--email", ADMIN["email"], stdin=ADMIN["password"] + "\n")
    assert f"Logged in to {server} as {ADMIN['email']}" in out
    stored = beacon.config / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text())["base_url"] == server
    # Later commands find the gateway from the session: no --url needed.
    assert "admin@example.com (admin)" in beacon("whoami")

    companies = json.loads(beacon("companies", "list", "--json"))
    assert companies["total"] >= 50
    assert "RELIANCE.NS" in {c["symbol"] for c in companies["companies"]}
    assert "Tata Consultancy" in beacon("companies", "list", "--limit", "100")

    # A folder with one PDF and one file that is not a PDF: the PDF is ingested, the other is
    # refused with the API's reason, and the exit code says one failed.
    folder = tmp_path / "filings"
    folder.mkdir()
    (folder / "tcs_fy2023.pdf").write_bytes(make_pdf(2, company="Tata Consultancy Services",
                                                     marker="cli-ingest-marker"))
    (folder / "notes.pdf").write_text("not a pdf at all")
    out = beacon("ingest", str(folder), "--company", "TCS", "--period", "FY2023", code=1)
    assert "VALIDATION_ERROR (400)" in out and "not a PDF" in out
    assert "1 of 2 documents ingested" in out
    listed = json.loads(beacon("documents", "--company", "TCS.NS", "--json"))
    mine = [d for d in listed["documents"] if d["fiscal_period"] == "FY2023"]
    assert [d["status"] for d in mine] == ["completed"] and mine[0]["chunk_count"] > 0

    # A manifest CSV, path relative to it, period from its row.
    (tmp_path / "manifest.csv").write_text(
        "path,company,period,doc_type,title\n"
        "filings/tcs_fy2023.pdf,TCS,Q1FY24,quarterly_result,TCS Q1 results (CLI)\n")
    out = beacon("ingest", str(tmp_path / "manifest.csv"))
    assert "1 of 1 documents ingested" in out

    await wait_for_sample_corpus(server)
    out = beacon("query", "What was Reliance revenue from operations in FY2024?", "--company", "RELIANCE.NS")
    assert "9,74,864" in out, out  # the revenue figure of the sample filing
    assert "Reliance" in out.split("9,74,864", 1)[1], "a citation line after the answer"

    created = beacon("users", "add", "ana@example.com", "--name", "Ana", "--role", "reviewer",
                     stdin="analyst-password\nanalyst-password\n")
    assert "ana@example.com (reviewer)" in created
    assert "ana@example.com" in beacon("users", "list")
    key_out = beacon("keys", "create", "ci")
    assert key_out.strip().splitlines()[-1].startswith("bk_")
    assert '"name": "ci"' in beacon("keys", "list", "--json")
    assert "pending reviews" in beacon("reviews", "list")
    assert "NOT_FOUND (404)" in beacon("reviews", "show", "no-such-review", code=1)
    assert "Logged out" in beacon("logout")
    assert not stored.exists()


def test_help_starts_nothing(tmp_path):
    script = Path(sys.executable).parent / "beacon"
    env = {**os.environ, "BEACON_CONFIG_DIR": str(tmp_path / "config"), "BEACON_URL": "http://127.0.0.1:9"}
    for args in ([], ["--help"], ["ingest", "--help"], ["users", "--help"]):
        result = subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=60)
        assert "Usage: beacon" in result.stdout + result.stderr, args
    assert not (tmp_path / "config").exists()
