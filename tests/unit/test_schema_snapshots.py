"""JSON-schema snapshots of every wire model. A failing test means a contract changed: if the
change is intended, regenerate with

    UPDATE_SNAPSHOTS=1 uv run pytest tests/unit/test_schema_snapshots.py

and commit the snapshot diff together with the model change, so reviewers see it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from beacon_contracts.events import (
    PAYLOAD_TYPES,
    Envelope,
    JobCompleted,
    JobError,
    JobKind,
    JobStarted,
    QueryFrame,
)
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_contracts.report_api import ApiEnvelope, GenerateRequest, RefineRequest

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

MODELS: dict[str, type[BaseModel]] = {
    "Envelope": Envelope,
    **{f"payload.{name}": cls for name, cls in PAYLOAD_TYPES.items()},
    "JobRecord": JobRecord,
    "GenerateRequest": GenerateRequest,
    "RefineRequest": RefineRequest,
    "ApiEnvelope": ApiEnvelope,
}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_matches_snapshot(name: str) -> None:
    schema = MODELS[name].model_json_schema()
    Draft202012Validator.check_schema(schema)
    path = SNAPSHOTS / f"{name}.json"

    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != render(schema):
            path.write_text(render(schema), encoding="utf-8")
        return

    assert path.exists(), f"no snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 to create it"
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    assert schema == snapshot, (
        f"JSON schema of {name} differs from {path.name}. If the contract change is "
        "intended, rerun with UPDATE_SNAPSHOTS=1 and commit the snapshot."
    )


def test_no_orphan_snapshots() -> None:
    expected = {f"{name}.json" for name in MODELS}
    if UPDATE:
        for stale in SNAPSHOTS.glob("*.json"):
            if stale.name not in expected:
                stale.unlink()
        return
    present = {p.name for p in SNAPSHOTS.glob("*.json")}
    assert present - expected == set(), "snapshots of models that no longer exist"
    assert expected - present == set(), "models without a snapshot"


def _instances() -> list[tuple[str, BaseModel]]:
    started = JobStarted(job_id="j", kind=JobKind.GENERATE, worker="w")
    envelope = Envelope.wrap(started, correlation_id="c")
    return [
        ("Envelope", envelope),
        ("Envelope", envelope.follow(QueryFrame(query_id="q", seq=1, event="done", data={}))),
        ("payload.JobStarted", started),
        (
            "payload.JobCompleted",
            JobCompleted(job_id="j", kind=JobKind.REFINE, outcome="completed", result={"a": []}),
        ),
        (
            "JobRecord",
            JobRecord(
                job_id="j",
                kind=JobKind.QUERY,
                owner="o",
                status=JobStatus.FAILED,
                fingerprint="fp",
                error=JobError(error_code="E", message="m"),
            ),
        ),
        (
            "GenerateRequest",
            GenerateRequest(
                type="Feasibility_report",
                customer_id="c",
                opportunity_id="o",
                section_title="appendix",
            ),
        ),
        ("ApiEnvelope", ApiEnvelope(status="processing", message="m", data={"job_id": "j"})),
    ]


@pytest.mark.skipif(UPDATE, reason="snapshots are being rewritten")
@pytest.mark.parametrize(
    ("name", "instance"),
    _instances(),
    ids=[f"{name}-{i}" for i, (name, _) in enumerate(_instances())],
)
def test_snapshots_accept_real_instances(name: str, instance: BaseModel) -> None:
    """The committed schemas describe what the models actually emit."""
    schema = json.loads((SNAPSHOTS / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(instance.model_dump(mode="json"))
