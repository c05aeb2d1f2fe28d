"""The report writer on the in-memory bus: what the gateway sends in, what it gets back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobStarted
from beacon_report_writer.bootstrap import CONSUMER, build
from beacon_report_writer.drafter import OFFLINE_LABEL
from beacon_report_writer.repository import InMemorySessionDrafts
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.adapters import Adapters
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.llm.port import ChatModel, Completion, LLMError, LLMTimeout, Prompt

PARAMS = {
    "type": "Technical_scope",
    "customer_id": "ACME",
    "opportunity_id": "OPP-9",
    "section_title": "technology stack",
}


class FailingModel(ChatModel):
    name = "failing"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0
        self.closed = False

    async def complete(self, prompt: Prompt) -> Completion:
        self.calls += 1
        raise self.exc

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        raise self.exc
        yield ""

    async def close(self) -> None:
        self.closed = True


class ProbedBus(InMemoryBus):
    healthy = True

    async def ping(self) -> bool:
        if not self.healthy:
            raise ConnectionError("broker gone")
        return True


class Harness:
    def __init__(self, chat_model: ChatModel | None = None) -> None:
        self.bus = ProbedBus(retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
        self.drafts = InMemorySessionDrafts()
        self.events: list[Envelope] = []
        self.service = build(ReportWriterSettings(openai_base_url=None, redis_url=None, worker_concurrency=2),
                             Adapters(bus=self.bus, chat_model=chat_model), drafts=self.drafts)

        async def collect(envelope: Envelope) -> None:
            if envelope.type in ("JobStarted", "JobCompleted"):
                self.events.append(envelope)

        self.bus.subscribe("observer", ["job.#"], collect)

    async def __aenter__(self) -> Harness:
        await self.service.start()
        await self.bus.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.bus.stop()
        await self.service.stop()

    async def request(self, job_id: str, kind: str = "generate", **fields) -> Envelope:
        """A GenerateSection or RefineSection as the gateway sends it, written as raw JSON
        so that a test can send what the gateway never would."""
        envelope = Envelope(type="JobRequested", correlation_id=f"corr-{job_id}", payload={
            "job_id": job_id, "kind": kind, "owner": "owner-1", "session_id": "sess-1",
            "request": {**PARAMS, **fields},
        })
        await self.bus.publish(envelope)
        await self.bus.drain()
        return envelope

    def of(self, job_id: str) -> list:
        return [e.parse() for e in self.events if e.payload["job_id"] == job_id]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_generate_job_is_started_then_completed_with_the_section():
    async with Harness() as h:
        request = await h.request("job-1")
        started, completed = h.of("job-1")
        assert isinstance(started, JobStarted) and isinstance(completed, JobCompleted)
        assert started.kind == completed.kind == JobKind.GENERATE
        assert started.worker.startswith("report-writer@")
        assert completed.outcome == "completed" and completed.error is None
        assert completed.result["section_title"] == "Technology Stack"
        assert completed.result["customer_id"] == "ACME"
        markdown = base64.b64decode(completed.result["generated_section_b64"]).decode()
        assert markdown.startswith(f"## Technology Stack\n\n{OFFLINE_LABEL}")
        assert "### Infrastructure and hosting" in markdown
        for event in h.events:  # both answers follow the request
            assert event.correlation_id == "corr-job-1"
            assert event.causation_id == str(request.event_id)
        assert await h.bus.dead_letters(CONSUMER) == []


async def test_refine_job_completes_with_refined_section_in_session_context():
    async with Harness() as h:
        await h.request("job-gen", section_title="Executive Summary")
        await h.request(
            "job-ref",
            kind="refine",
            original_text=_b64("Python. Postgres."),
            prompt="make it a bullet list",
        )
        _, completed = h.of("job-ref")
        assert completed.outcome == "completed"
        assert set(completed.result) == {
            "customer_id",
            "opportunity_id",
            "section_title",
            "refined_section_b64",
            "citations",
            "changes",
        }
        markdown = base64.b64decode(completed.result["refined_section_b64"]).decode()
        assert "- Python.\n- Postgres.\n" in markdown
        assert set(await h.drafts.load("owner-1", "sess-1")) == {"Executive Summary", "Technology Stack"}


async def test_redelivered_request_is_drafted_again_identically():
    async with Harness() as h:
        request = await h.request("job-1")
        await h.bus.publish(request)
        await h.bus.drain()
        completions = [e for e in h.of("job-1") if isinstance(e, JobCompleted)]
        assert len(completions) == 2 and completions[0].result == completions[1].result


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (LLMTimeout("no answer in 60s"), "LLM_TIMEOUT"),
        (LLMError("HTTP 500"), "LLM_ERROR"),
        (RuntimeError("a bug"), "INTERNAL_ERROR"),
    ],
)
async def test_failures_complete_the_job_as_failed_without_bus_retries(exc, code):
    model = FailingModel(exc)
    async with Harness(model) as h:
        await h.request("job-x")
        started, completed = h.of("job-x")
        assert isinstance(started, JobStarted)
        assert completed.outcome == "failed" and completed.result is None
        assert completed.error.error_code == code
        assert "a bug" not in completed.error.message
        assert model.calls == 1
        assert await h.bus.dead_letters(CONSUMER) == []
    assert not model.closed  # the caller's adapter: the service does not close it


async def test_invalid_command_fails_its_job_with_invalid_input_before_any_work():
    model = FailingModel(RuntimeError("must not be called"))
    async with Harness(model) as h:
        request = await h.request("job-bad", section_title="Pricing")
        events = h.of("job-bad")
        assert not any(isinstance(e, JobStarted) for e in events)  # nothing was tried
        completed = events[0]  # the one the gateway keeps: the first terminal event
        assert completed.outcome == "failed"
        assert completed.error.error_code == "INVALID_INPUT"
        assert "Pricing" in completed.error.message
        assert {e.error.error_code for e in events} == {"INVALID_INPUT"}
        assert h.events[0].causation_id == str(request.event_id)
        assert model.calls == 0
        # Kept for operators, like every message that can never succeed.
        assert await h.bus.dead_letters(CONSUMER) == [request]


@pytest.mark.parametrize(
    ("kind", "fields", "mentions"),
    [
        ("generate", {"section_title": "Pricing"}, "not allowed for Technical_scope"),
        ("generate", {"type": "Annual_report"}, "type"),
        ("generate", {"customer_id": ""}, "customer_id"),
        ("refine", {"original_text": "not base64!", "prompt": "x"}, "original_text"),
        ("refine", {"original_text": _b64("text")}, "prompt"),
    ],
)
async def test_each_invalid_field_is_named_in_the_jobs_error(kind, fields, mentions):
    async with Harness() as h:
        await h.request("job-bad", kind, **fields)
        completed = h.of("job-bad")[0]
        assert completed.error.error_code == "INVALID_INPUT"
        assert mentions in completed.error.message


async def test_command_without_an_owner_fails_its_job_not_pending_for_ever():
    async with Harness() as h:
        await h.bus.publish(Envelope(type="JobRequested", correlation_id="c", payload={
            "job_id": "j", "kind": "generate", "session_id": "s", "request": PARAMS}))
        await h.bus.drain()
        completed = h.of("j")[0]
        assert completed.error.error_code == "INVALID_INPUT" and "owner" in completed.error.message


async def test_command_without_a_job_id_is_dead_lettered_at_once():
    async with Harness() as h:
        broken = Envelope(
            type="JobRequested", correlation_id="c", payload={"kind": "generate", "owner": "o"}
        )  # nobody to tell: no job id
        await h.bus.publish(broken)
        await h.bus.drain()
        assert h.events == []
        assert await h.bus.dead_letters(CONSUMER) == [broken]


async def test_health_and_readiness_probes():
    h = Harness()
    transport = httpx.ASGITransport(app=h.service.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://rw") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"bus": "ok", "session_drafts": "ok"}
        h.bus.healthy = False
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["bus"] == "unavailable"
