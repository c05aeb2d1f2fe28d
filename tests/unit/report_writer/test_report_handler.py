"""The report writer on the in-memory bus: what the gateway sends in, what it gets back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from beacon_contracts.events import Envelope, JobCompleted, JobKind, JobRequested, JobStarted
from beacon_report_writer.bootstrap import CONSUMER, build
from beacon_report_writer.drafter import OFFLINE_LABEL
from beacon_report_writer.repository import InMemorySessionDrafts
from beacon_report_writer.settings import ReportWriterSettings
from beacon_runtime.bus.memory import InMemoryBus
from beacon_runtime.bus.port import RetryPolicy
from beacon_runtime.llm.port import ChatModel, Completion, LLMError, LLMTimeout, Prompt

PARAMS = {
    "session_id": "sess-1",
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
        self.service = build(
            ReportWriterSettings(openai_base_url=None, redis_url=None, worker_concurrency=2),
            bus=self.bus,
            chat_model=chat_model,
            drafts=self.drafts,
        )

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

    async def request(self, job_id: str, kind: str = "generate", **params) -> Envelope:
        envelope = Envelope.wrap(
            JobRequested(
                job_id=job_id, kind=JobKind(kind), owner="owner-1", params={**PARAMS, **params}
            ),
            correlation_id=f"corr-{job_id}",
        )
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


async def test_invalid_params_fail_with_invalid_input():
    async with Harness() as h:
        await h.request("job-bad", section_title="Pricing")
        _, completed = h.of("job-bad")
        assert completed.outcome == "failed"
        assert completed.error.error_code == "INVALID_INPUT"
        assert "Pricing" in completed.error.message


async def test_unreadable_request_is_dead_lettered_at_once():
    async with Harness() as h:
        broken = Envelope(
            type="JobRequested", correlation_id="c", payload={"job_id": "j", "kind": "generate"}
        )  # no owner
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
