"""Contracts: envelopes round-trip, routing keys, the section catalogue, API request
validation and topic pattern matching."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import ValidationError

from beacon_contracts import routing
from beacon_contracts.events import (
    PAYLOAD_TYPES,
    DocumentIngested,
    Envelope,
    JobCancelled,
    JobCompleted,
    JobError,
    JobKind,
    JobProgress,
    JobStarted,
    Payload,
    QueryFrame,
    ReviewRequired,
    ReviewResolved,
)
from beacon_contracts.commands import (
    COMMAND_TYPES,
    AnswerQuestion,
    Command,
    GenerateSection,
    IngestDocument,
    RefineSection,
    RunBootstrap,
)
from beacon_contracts.report_api import GenerateRequest, RefineRequest
from beacon_contracts.research_api import QueryFilters
from beacon_contracts.sections import SECTIONS, ReportType, canonical_section
from beacon_runtime.bus.port import topic_matches

SAMPLES: dict[str, Payload] = {
    "GenerateSection": GenerateSection(
        job_id="j-1", owner="owner-hash", session_id="s-1", request_id="r-1",
        request=GenerateRequest(type="Technical_scope", customer_id="ACME", opportunity_id="O-1",
                                section_title="technology stack"),
    ),
    "RefineSection": RefineSection(
        job_id="j-1", owner="owner-hash", session_id="s-1",
        request=RefineRequest(type="Technical_scope", customer_id="ACME", opportunity_id="O-1",
                              section_title="Technology Stack", prompt="shorter",
                              original_text=base64.b64encode("## Ü\n".encode()).decode()),
    ),
    "AnswerQuestion": AnswerQuestion(
        job_id="q-1", owner="7", question="What was the revenue?", stream=True,
        filters=QueryFilters(company_symbol="RELIANCE.NS", document_types=["annual_report"]),
    ),
    "IngestDocument": IngestDocument(job_id="doc-2", owner="ingestion", document_id=2**40),
    "RunBootstrap": RunBootstrap(job_id="bootstrap-1", owner="admin", companies=["TCS"],
                                 doc_types=["annual_report"], years=[2024]),
    "JobStarted": JobStarted(job_id="j-1", kind=JobKind.GENERATE, worker="writer-1", attempt=3),
    "JobProgress": JobProgress(
        job_id="j-1", kind=JobKind.QUERY, stage="retrieve", state="in_progress", detail="3/5"
    ),
    "JobCompleted": JobCompleted(
        job_id="j-1",
        kind=JobKind.GENERATE,
        outcome="failed",
        error=JobError(error_code="LLM_TIMEOUT", message="no answer"),
    ),
    "JobCancelled": JobCancelled(job_id="j-1", kind=JobKind.QUERY, reason="client went away"),
    "DocumentIngested": DocumentIngested(
        document_id=42,
        company_symbol=None,
        doc_type="annual_report",
        fiscal_period="FY24",
        chunk_count=120,
        page_count=33,
    ),
    "ReviewRequired": ReviewRequired(
        review_id="r-1",
        query_id="q-1",
        owner="u-1",
        question="Revenue?",
        generated_response="About 12 crore ✓",
        reason="low confidence",
        citations=[{"document_id": 42, "page": 3, "score": 0.5}],
        workflow_state={"node": "grade", "retries": 0},
    ),
    "ReviewResolved": ReviewResolved(
        review_id="r-1",
        query_id="q-1",
        decision="edited",
        final_response="About 12.4 crore",
        reviewed_by="analyst",
    ),
    "QueryFrame": QueryFrame(query_id="q-1", seq=0, event="token", data={"text": "Rev"}),
}

EXPECTED_ROUTING = {
    "JobStarted": "job.started",
    "JobProgress": "job.progress",
    "JobCompleted": "job.completed",
    "JobCancelled": "job.cancelled",
    "DocumentIngested": "document.ingested",
    "ReviewRequired": "review.required",
    "ReviewResolved": "review.resolved",
    "QueryFrame": "query.frame",
}


def test_samples_cover_every_payload_type() -> None:
    assert set(SAMPLES) == set(PAYLOAD_TYPES)
    for name, payload in SAMPLES.items():
        assert type(payload) is PAYLOAD_TYPES[name]
        expected = "JobRequested" if isinstance(payload, Command) else name
        assert payload.EVENT_TYPE == expected


# --- envelope ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(PAYLOAD_TYPES))
def test_envelope_round_trip(event_type: str) -> None:
    payload = SAMPLES[event_type]
    envelope = Envelope.wrap(payload, correlation_id="corr-1")
    assert envelope.type == payload.EVENT_TYPE

    wire = envelope.model_dump_json()
    json.loads(wire)  # plain JSON
    back = Envelope.model_validate_json(wire)

    assert back == envelope
    assert back.parse() == payload
    assert type(back.parse()) is type(payload)


def test_envelope_follow_keeps_correlation_and_sets_causation() -> None:
    first = Envelope.wrap(SAMPLES["GenerateSection"], correlation_id="corr-9")
    second = first.follow(SAMPLES["JobStarted"])
    assert second.correlation_id == "corr-9"
    assert second.causation_id == str(first.event_id)
    assert second.event_id != first.event_id
    assert first.causation_id is None


def test_envelope_of_unknown_type_fails_to_parse() -> None:
    envelope = Envelope(type="Nope", correlation_id="c", payload={})
    with pytest.raises(ValueError, match="unknown event type"):
        envelope.parse()


def test_envelope_rejects_extra_fields() -> None:
    wire = json.loads(Envelope.wrap(SAMPLES["JobStarted"], correlation_id="c").model_dump_json())
    wire["surprise"] = 1
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire)


def test_payload_with_unknown_field_fails_to_parse() -> None:
    envelope = Envelope.wrap(SAMPLES["JobStarted"], correlation_id="c")
    tampered = envelope.model_copy(update={"payload": {**envelope.payload, "extra": 1}})
    with pytest.raises(ValidationError):
        tampered.parse()


def test_query_frame_seq_must_not_be_negative() -> None:
    with pytest.raises(ValidationError):
        QueryFrame(query_id="q", seq=-1, event="done", data={})


# --- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EXPECTED_ROUTING))
def test_routing_key_per_event_type(event_type: str) -> None:
    envelope = Envelope.wrap(SAMPLES[event_type], correlation_id="c")
    assert routing.routing_key(envelope) == EXPECTED_ROUTING[event_type]


def test_one_command_per_job_kind() -> None:
    assert sorted(cls.job_kind() for cls in COMMAND_TYPES) == sorted(JobKind)


@pytest.mark.parametrize("name", [cls.__name__ for cls in COMMAND_TYPES])
def test_routing_key_of_a_command_carries_its_kind(name: str) -> None:
    envelope = Envelope.wrap(SAMPLES[name], correlation_id="c")
    kind = SAMPLES[name].kind
    assert envelope.type == "JobRequested"
    assert routing.routing_key(envelope) == f"job.requested.{kind.value}"
    assert routing.routing_key(envelope) == routing.job_requested(kind.value)
    assert topic_matches("job.requested.*", routing.routing_key(envelope))


def test_every_payload_type_has_a_routing_key() -> None:
    for event_type in PAYLOAD_TYPES:
        key = routing.routing_key(Envelope.wrap(SAMPLES[event_type], correlation_id="c"))
        assert key and all(word for word in key.split("."))


def test_routing_constants() -> None:
    assert routing.JOB_STARTED == "job.started"
    assert routing.JOB_PROGRESS == "job.progress"
    assert routing.JOB_COMPLETED == "job.completed"
    assert routing.JOB_CANCELLED == "job.cancelled"
    assert routing.DOCUMENT_INGESTED == "document.ingested"
    assert routing.REVIEW_REQUIRED == "review.required"
    assert routing.REVIEW_RESOLVED == "review.resolved"
    assert routing.QUERY_FRAME == "query.frame"


# --- sections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report_type", "variant", "canonical"),
    [
        (ReportType.FEASIBILITY_REPORT, "executive summary", "Executive Summary"),
        (ReportType.FEASIBILITY_REPORT, "EXECUTIVE SUMMARY", "Executive Summary"),
        (ReportType.FEASIBILITY_REPORT, "  Executive   Summary  ", "Executive Summary"),
        (ReportType.FEASIBILITY_REPORT, "executive_summary", "Executive Summary"),
        (ReportType.FEASIBILITY_REPORT, "Executive-Summary", "Executive Summary"),
        (ReportType.FEASIBILITY_REPORT, "executive\tsummary", "Executive Summary"),
        (ReportType.FEASIBILITY_REPORT, "cost benefit analysis", "Cost-Benefit Analysis"),
        (ReportType.FEASIBILITY_REPORT, "Cost - Benefit  Analysis", "Cost-Benefit Analysis"),
        (ReportType.FEASIBILITY_REPORT, "COST_BENEFIT_ANALYSIS", "Cost-Benefit Analysis"),
        (ReportType.TECHNICAL_SCOPE, "Security and Compliance", "Security & Compliance"),
        (ReportType.TECHNICAL_SCOPE, "security&compliance", "Security & Compliance"),
        (ReportType.TECHNICAL_SCOPE, "SECURITY AND COMPLIANCE", "Security & Compliance"),
        (ReportType.TECHNICAL_SCOPE, "risks and mitigations", "Risks & Mitigations"),
        (ReportType.TECHNICAL_SCOPE, "Assumptions &Dependencies", "Assumptions & Dependencies"),
        (ReportType.COMMERCIAL_PROPOSAL, "terms and conditions", "Terms & Conditions"),
        (ReportType.COMMERCIAL_PROPOSAL, "why-choose-us", "Why Choose Us"),
        (ReportType.COMMERCIAL_PROPOSAL, "next_steps", "Next Steps"),
    ],
)
def test_section_variants_normalise_to_canonical(
    report_type: ReportType, variant: str, canonical: str
) -> None:
    assert canonical_section(report_type, variant) == canonical


@pytest.mark.parametrize(
    ("report_type", "title"),
    [
        (ReportType.FEASIBILITY_REPORT, "Pricing"),  # belongs to another type
        (ReportType.COMMERCIAL_PROPOSAL, "Technology Stack"),
        (ReportType.TECHNICAL_SCOPE, "Executive Summaries"),
        (ReportType.TECHNICAL_SCOPE, "Executive"),
        (ReportType.TECHNICAL_SCOPE, ""),
        (ReportType.TECHNICAL_SCOPE, "   "),
        (ReportType.TECHNICAL_SCOPE, "Security Compliance"),
        (ReportType.TECHNICAL_SCOPE, "Security + Compliance"),
    ],
)
def test_unknown_section_is_none(report_type: ReportType, title: str) -> None:
    assert canonical_section(report_type, title) is None


@pytest.mark.parametrize(
    ("report_type", "title"),
    [(t, title) for t, titles in SECTIONS.items() for title in titles],
)
def test_every_canonical_title_maps_to_itself(report_type: ReportType, title: str) -> None:
    assert canonical_section(report_type, title) == title


def test_every_report_type_has_a_catalogue() -> None:
    assert set(SECTIONS) == set(ReportType)
    for titles in SECTIONS.values():
        assert len(titles) == len(set(titles))


# --- API requests --------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def generate_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Technical_scope",
        "customer_id": "cust-1",
        "opportunity_id": "opp-1",
        "section_title": "security and compliance",
    }
    body.update(overrides)
    return body


def refine_body(**overrides: Any) -> dict[str, Any]:
    body = generate_body(original_text=b64("# Heading\n\nSome text ✓"), prompt="Shorter.")
    body.update(overrides)
    return body


def test_generate_request_canonicalises_title() -> None:
    request = GenerateRequest.model_validate(generate_body())
    assert request.section_title == "Security & Compliance"
    assert request.type is ReportType.TECHNICAL_SCOPE


def test_generate_request_strips_whitespace() -> None:
    request = GenerateRequest.model_validate(generate_body(customer_id="  cust-1  "))
    assert request.customer_id == "cust-1"


def test_refine_request_decodes_original() -> None:
    request = RefineRequest.model_validate(refine_body())
    assert request.original_markdown() == "# Heading\n\nSome text ✓"
    assert request.section_title == "Security & Compliance"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"type": "Business_plan"}, id="unknown-type"),
        pytest.param({"type": "technical_scope"}, id="type-wrong-case"),
        pytest.param({"type": 3}, id="type-not-a-string"),
        pytest.param({"section_title": "Pricing"}, id="title-not-allowed-for-type"),
        pytest.param({"section_title": "Nonsense"}, id="unknown-title"),
        pytest.param({"section_title": ""}, id="empty-title"),
        pytest.param({"section_title": "   "}, id="blank-title"),
        pytest.param({"section_title": 5}, id="title-wrong-type"),
        pytest.param({"customer_id": ""}, id="empty-customer"),
        pytest.param({"customer_id": "x" * 201}, id="customer-too-long"),
        pytest.param({"opportunity_id": None}, id="null-opportunity"),
        pytest.param({"opportunity_id": 7}, id="opportunity-wrong-type"),
    ],
)
def test_generate_request_rejects(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GenerateRequest.model_validate(generate_body(**overrides))
    with pytest.raises(ValidationError):
        RefineRequest.model_validate(refine_body(**overrides))


@pytest.mark.parametrize("missing", ["type", "customer_id", "opportunity_id", "section_title"])
def test_generate_request_requires_fields(missing: str) -> None:
    body = generate_body()
    del body[missing]
    with pytest.raises(ValidationError):
        GenerateRequest.model_validate(body)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"original_text": "not base64!"}, id="bad-base64"),
        pytest.param({"original_text": "abc"}, id="bad-padding"),
        pytest.param({"original_text": base64.b64encode(b"\xff\xfe\xfa").decode()}, id="not-utf8"),
        pytest.param({"original_text": b64("   \n ")}, id="decodes-to-blank"),
        pytest.param({"original_text": ""}, id="empty-original"),
        pytest.param({"original_text": 123}, id="original-wrong-type"),
        pytest.param({"prompt": ""}, id="empty-prompt"),
        pytest.param({"prompt": "   \n\t "}, id="blank-prompt"),
        pytest.param({"prompt": "x" * 4001}, id="prompt-too-long"),
        pytest.param({"prompt": ["a"]}, id="prompt-wrong-type"),
        pytest.param({"prompt": None}, id="null-prompt"),
    ],
)
def test_refine_request_rejects(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RefineRequest.model_validate(refine_body(**overrides))


@pytest.mark.parametrize("missing", ["original_text", "prompt"])
def test_refine_request_requires_fields(missing: str) -> None:
    body = refine_body()
    del body[missing]
    with pytest.raises(ValidationError):
        RefineRequest.model_validate(body)


def test_validation_error_names_allowed_titles() -> None:
    with pytest.raises(ValidationError) as raised:
        GenerateRequest.model_validate(generate_body(section_title="Pricing"))
    assert "Security & Compliance" in str(raised.value)


# --- topic patterns ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("job.completed", "job.completed", True),
        ("job.completed", "job.started", False),
        ("job.completed", "job.completed.extra", False),
        ("job.*", "job.started", True),
        ("job.*", "job", False),
        ("job.*", "job.requested.generate", False),
        ("*.completed", "job.completed", True),
        ("*", "job", True),
        ("*", "job.started", False),
        ("job.requested.*", "job.requested.refine", True),
        ("job.requested.*", "job.requested", False),
        ("job.#", "job", True),
        ("job.#", "job.started", True),
        ("job.#", "job.requested.generate", True),
        ("job.#", "jobs.started", False),
        ("#", "job", True),
        ("#", "job.requested.generate", True),
        ("#", "", True),
        ("#.completed", "job.completed", True),
        ("#.completed", "completed", True),
        ("#.completed", "job.completed.x", False),
        ("a.#.b", "a.b", True),
        ("a.#.b", "a.x.b", True),
        ("a.#.b", "a.x.y.z.b", True),
        ("a.#.b", "a.b.c", False),
        ("a.#.b", "b.a.b", False),
        ("a.#.b", "a", False),
        ("a.*.b", "a.b", False),
        ("a.*.b", "a.x.b", True),
        ("a.*.b", "a.x.y.b", False),
        ("#.#", "a.b", True),
        ("*.#", "a", True),
        ("*.#", "", True),  # "" is one empty word
        ("a.#.#.b", "a.b", True),
        ("*.*", "a", False),
    ],
)
def test_topic_matches(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_routing_keys_reach_the_patterns_services_bind() -> None:
    assert topic_matches("job.*", routing.JOB_COMPLETED)
    assert topic_matches("job.#", routing.job_requested("query"))
    assert not topic_matches("job.*", routing.job_requested("query"))
    assert topic_matches("review.*", routing.REVIEW_RESOLVED)
    assert not topic_matches("query.frame", routing.JOB_PROGRESS)
