"""Generate docs/asyncapi.json (AsyncAPI 3.0) from the event contracts.

Channels are the routing keys computed by ``beacon_contracts.routing``; each message is an
Envelope whose ``type`` is fixed and whose ``payload`` is the JSON schema of the payload
model in ``beacon_contracts.events.PAYLOAD_TYPES``: every event, and every command (one per
job kind, each on its own ``job.requested.<kind>`` channel, all of envelope type JobRequested). Output is deterministic, so a contract
change shows up as a diff of the committed file (tests/unit/test_asyncapi_fresh.py).

    uv run python scripts/gen_asyncapi.py          # write docs/asyncapi.json
    uv run python scripts/gen_asyncapi.py --check  # exit 1 if the file is stale
"""

from __future__ import annotations

import copy
import inspect
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from beacon_contracts.events import PAYLOAD_TYPES, Command, Envelope, Payload
from beacon_contracts.routing import EXCHANGE, job_requested, routing_key

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.json"
REF = "#/components/schemas/{model}"
AMQP_BINDING_VERSION = "0.3.0"


def _routing_key(payload_cls: type[Payload]) -> str:
    """The routing key a message of this class is published with."""
    if issubclass(payload_cls, Command):
        return job_requested(payload_cls.job_kind())
    return routing_key(Envelope(type=payload_cls.EVENT_TYPE, correlation_id="-", payload={}))


def _channel_id(key: str) -> str:
    return key.replace(".", "_")


def _summary(cls: type) -> str | None:
    doc = inspect.getdoc(cls)
    if not doc or cls.__doc__ is None or doc == inspect.getdoc(cls.__mro__[1]):
        return None
    return doc.splitlines()[0]


def _hoist(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic's $defs into components.schemas (refs already point there)."""
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas named {name!r}")
    return schema


def build_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    envelope = _hoist(Envelope.model_json_schema(ref_template=REF), schemas)
    schemas["Envelope"] = envelope
    schemas["MessageHeaders"] = {
        "type": "object",
        "properties": {
            "x-beacon-attempt": {
                "type": "integer",
                "minimum": 1,
                "description": (
                    "Delivery attempt for the consuming service: set on a retry (2, 3, ...); "
                    "absent on the first publish, which is attempt 1."
                ),
            },
            "traceparent": {
                "type": "string",
                "description": "W3C trace context of the publisher.",
            },
            "tracestate": {"type": "string", "description": "W3C trace state."},
        },
    }

    for name, payload_cls in PAYLOAD_TYPES.items():
        schemas[name] = _hoist(payload_cls.model_json_schema(ref_template=REF), schemas)
        wrapped = copy.deepcopy(envelope)
        wrapped["title"] = f"{name}Envelope"
        wrapped["description"] = f"An Envelope carrying a {name} payload."
        wire_type = payload_cls.EVENT_TYPE
        wrapped["properties"]["type"] = {"const": wire_type, "title": "Type", "type": "string"}
        wrapped["properties"]["payload"] = {"$ref": REF.format(model=name)}
        schemas[f"{name}Envelope"] = wrapped

        message: dict[str, Any] = {
            "name": name,
            "title": name,
            "contentType": "application/json",
            "headers": {"$ref": REF.format(model="MessageHeaders")},
            "payload": {"$ref": REF.format(model=f"{name}Envelope")},
            "correlationId": {"location": "$message.payload#/correlation_id"},
            "bindings": {
                "amqp": {"messageType": wire_type, "bindingVersion": AMQP_BINDING_VERSION}
            },
        }
        if summary := _summary(payload_cls):
            message["summary"] = summary
        messages[name] = message

        key = _routing_key(payload_cls)
        channel_id = _channel_id(key)
        channels[channel_id] = {
            "address": key,
            "title": key,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": EXCHANGE,
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
            "bindings": {
                "amqp": {
                    "deliveryMode": 2,
                    "mandatory": issubclass(payload_cls, Command),  # rabbit.py
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Beacon events",
            "version": version("beacon-contracts"),
            "description": (
                f"Every event on the `{EXCHANGE}` topic exchange. Generated by "
                "scripts/gen_asyncapi.py from beacon_contracts; do not edit by hand. "
                "Each consumer service owns a durable quorum queue bound with topic "
                "patterns; failed deliveries are retried with back-off and then moved to "
                "the consumer's dead-letter queue."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ broker (AMQP_URL).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run `uv run python scripts/gen_asyncapi.py`")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
