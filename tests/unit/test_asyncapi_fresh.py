"""docs/asyncapi.json must be what scripts/gen_asyncapi.py generates from the contracts now,
so that every contract change is a visible diff. Fix a failure with:

    uv run python scripts/gen_asyncapi.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from beacon_contracts.commands import COMMAND_TYPES
from beacon_contracts.events import PAYLOAD_TYPES, Envelope, JobKind
from beacon_contracts.routing import routing_key

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    path = ROOT / "scripts" / "gen_asyncapi.py"
    spec = importlib.util.spec_from_file_location("gen_asyncapi", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_committed_asyncapi_document_is_fresh():
    committed = (ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8")
    assert committed == gen.render(), "docs/asyncapi.json is stale: run scripts/gen_asyncapi.py"


def test_generation_is_deterministic():
    assert gen.render() == gen.render()


def test_every_event_type_has_a_message_and_its_routing_keys_as_channels():
    doc = gen.build_document()
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["components"]["messages"]) == set(PAYLOAD_TYPES)
    addresses = {c["address"] for c in doc["channels"].values()}
    for kind in JobKind:
        env = Envelope(type="JobRequested", correlation_id="c", payload={"kind": kind.value})
        assert routing_key(env) in addresses
    for command in COMMAND_TYPES:  # each command's own schema on its kind's channel
        channel = doc["channels"][f"job_requested_{command.job_kind()}"]
        assert list(channel["messages"]) == [command.__name__]
        message = doc["components"]["messages"][command.__name__]
        assert message["bindings"]["amqp"]["messageType"] == "JobRequested"
    for channel_id, operation in doc["operations"].items():
        assert operation["channel"]["$ref"] == f"#/channels/{channel_id.removeprefix('publish_')}"


def _validator(doc: dict, event_type: str) -> Draft202012Validator:
    # The whole document is the root resource, so "#/components/..." refs resolve.
    root = {**doc, "$ref": f"#/components/messages/{event_type}/payload"}
    return Draft202012Validator(root)


@pytest.mark.parametrize("event_type", sorted(PAYLOAD_TYPES))
def test_message_schema_accepts_its_envelope_and_rejects_a_wrong_payload(event_type):
    doc = gen.build_document()
    validator = _validator(doc, event_type)
    payload_schema = doc["components"]["schemas"][event_type]
    # A minimal valid payload: pydantic validates it, then the schema must accept it too.
    example = _example(payload_schema, doc["components"]["schemas"])
    if "request" in example:  # a section: its title must be one of its report type's
        example["request"] |= {"section_title": "Appendix", "original_text": "eA==", "prompt": "x"}
        if event_type == "GenerateSection":
            del example["request"]["original_text"], example["request"]["prompt"]
    payload = PAYLOAD_TYPES[event_type].model_validate(example)
    envelope = Envelope.wrap(payload, correlation_id="c").model_dump(mode="json")
    validator.validate(envelope)

    wrong_type = {**envelope, "type": "SomethingElse"}
    assert not validator.is_valid(wrong_type)
    wrong_payload = {**envelope, "payload": {**envelope["payload"], "unexpected": 1}}
    assert not validator.is_valid(wrong_payload)


def _example(schema: dict, schemas: dict):
    """A minimal instance of a (pydantic-generated) JSON schema: required fields only."""
    if "$ref" in schema:
        return _example(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _example(schema["anyOf"][0], schemas)
    kind = schema.get("type")
    if kind == "array":  # as short as the schema allows
        return [_example(schema.get("items", {}), schemas)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _example(props[name], schemas) for name in schema.get("required", [])}
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "array": []}.get(kind)
