"""Smoke test of the container stack, through the gateway container only (not a pytest test:
it needs `make stack` first; `make stack-test` runs both).

    python deploy/compose/smoke.py [--gateway http://127.0.0.1:18000]

Drives both contracts the way their frontends do: a report section generated to `completed`
(X-API-Key, Session-Id, polled GET /status), a login, a PDF uploaded and ingested through
every stage, and a question streamed over SSE to `done` with citations. Prints what it saw;
exits non-zero at the first thing that is not as the contracts say.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
SAMPLE_PDF = REPO / "services/ingestion/src/beacon_ingestion/sample_corpus/tcs_annual_report_fy2024.pdf"
API_KEY = "stack-api-key-0123456789"  # compose.yaml's API_KEYS
ADMIN = {"email": "admin@example.com", "password": "stack-admin-password"}
QUESTION = "What was TCS revenue from operations in FY2024?"


def step(text: str) -> None:
    print(f"-- {text}", flush=True)


def wait_ready(client: httpx.Client, deadline_s: float) -> None:
    """Until every service answers: the gateway's /api/v1/admin/health asks each one's
    /readyz (the gateway's own /readyz does not, and a worker still restarting after the
    broker came up late would fail the first step that needs it)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            response = client.get("/api/v1/admin/health")
            if response.status_code == 200:
                print(f"   all ready: {response.json()['services']}")
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        if time.monotonic() > deadline:
            sys.exit(f"gateway not ready after {deadline_s:.0f} s: {last}")
        time.sleep(1)


def report_job(client: httpx.Client) -> None:
    body = {"type": "Feasibility_report", "customer_id": "cust-smoke", "opportunity_id": "opp-1",
            "section_title": "Executive Summary"}
    headers = {"X-API-Key": API_KEY, "Session-Id": "smoke-session"}
    accepted = client.post("/generate", json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["data"]["job_id"]
    print(f"   POST /generate -> 202 job {job_id}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        envelope = client.get(f"/status/{job_id}", headers={"X-API-Key": API_KEY}).json()
        if envelope["data"]["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    assert envelope["data"]["status"] == "completed", envelope
    result = envelope["data"]["result"]
    print(f"   GET /status -> {envelope['status']} / completed, section "
          f"{result['section_title']!r}, {len(result['generated_section_b64'])} base64 chars")


def login(client: httpx.Client) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json=ADMIN)
    assert response.status_code == 200, response.text
    print(f"   POST /api/v1/auth/login -> 200, token_type {response.json().get('token_type')}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def ingest(client: httpx.Client, auth: dict[str, str]) -> None:
    form = {"company_symbol": "TCS", "doc_type": "annual_report", "fiscal_period": "FY2024",
            "title": "TCS annual report FY2024 (smoke upload)"}
    files = {"file": (SAMPLE_PDF.name, SAMPLE_PDF.read_bytes(), "application/pdf")}
    accepted = client.post("/api/v1/documents/upload", data=form, files=files, headers=auth)
    assert accepted.status_code == 202, accepted.text
    document_id = accepted.json()["document_id"]
    print(f"   POST /api/v1/documents/upload -> 202 document {document_id}")
    deadline, seen = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/documents/{document_id}/ingestion-status", headers=auth)
        assert status.status_code == 200, status.text
        body = status.json()
        stages = body.get("progress", {})
        if stages != seen:
            print(f"   ingestion {body.get('status')}: {stages}")
            seen = stages
        if body.get("status") in ("completed", "failed"):
            break
        time.sleep(1)
    assert body.get("status") == "completed", body


def stream_question(client: httpx.Client, auth: dict[str, str]) -> None:
    events: dict[str, int] = {}
    answer, citations, nodes = [], 0, []
    with client.stream("POST", "/api/v1/query/stream", json={"question": QUESTION},
                       headers=auth, timeout=120) as response:
        assert response.status_code == 200, response.read()
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
                events[event] = events.get(event, 0) + 1
            elif line.startswith("data: ") and event:
                data = json.loads(line[6:])
                if event == "node":
                    nodes.append(data.get("node") or data.get("name"))
                elif event == "token":
                    answer.append(data.get("content", ""))
                elif event == "citation":
                    citations += 1
                elif event == "done":
                    break
    print(f"   POST /api/v1/query/stream -> events {events}")
    print(f"   nodes: {nodes}")
    print(f"   answer: {''.join(answer)[:300]!r}")
    assert events.get("done") == 1 and events.get("node"), events
    assert citations >= 1, "no citation streamed"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", default="http://127.0.0.1:18000")
    parser.add_argument("--ready-timeout", type=float, default=300)
    args = parser.parse_args()
    started = time.monotonic()
    with httpx.Client(base_url=args.gateway, timeout=30) as client:
        step(f"waiting for {args.gateway}/api/v1/admin/health (every service ready)")
        wait_ready(client, args.ready_timeout)
        step("report writer: a section generated to completed")
        report_job(client)
        step("research assistant: login")
        auth = login(client)
        step("research assistant: a PDF uploaded and ingested")
        ingest(client, auth)
        step("research assistant: a question streamed")
        stream_question(client, auth)
    print(f"SMOKE OK in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
