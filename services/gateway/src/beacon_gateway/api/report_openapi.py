"""OpenAPI operations of the report API, written from the contract's models.

The three routes are served by a plain ASGI layer (see report.py), which FastAPI does not
document by itself; this adds them to the generated document: the same request and
envelope schemas, the X-API-Key scheme, the Session-Id header and every error status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic.json_schema import models_json_schema

from beacon_contracts.report_api import ApiEnvelope, GenerateRequest, RefineRequest

TAG = "report writer"
_REF = "#/components/schemas/{model}"
_API_KEY_SCHEME = {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
_SESSION_ID = {
    "name": "Session-Id",
    "in": "header",
    "required": True,
    "description": "The frontend's session; drafts of one session are refined together.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_SUBMIT_ERRORS = {
    "400": "Session-Id missing or body not JSON",
    "401": "X-API-Key missing or invalid",
    "413": "Body too large",
    "422": "Validation failed; data.details lists why",
    "503": "Job store or bus unavailable",
}
_STATUS_ERRORS = {
    "401": "X-API-Key missing or invalid",
    "404": "Unknown, expired or not yours",
    "503": "Job store unavailable",
}


def _envelope(description: str) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model="ApiEnvelope")}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _submit(operation_id: str, summary: str, description: str, model: str) -> dict[str, Any]:
    return {
        "tags": [TAG],
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "security": [{"ApiKey": []}],
        "parameters": [_SESSION_ID],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
        },
        "responses": {
            "202": _envelope("Accepted: data.job_id, data.status = pending"),
            **{code: _envelope(text) for code, text in _SUBMIT_ERRORS.items()},
        },
    }


def report_paths() -> dict[str, Any]:
    status = {
        "tags": [TAG],
        "summary": "Status",
        "description": "Poll a job: processing, ready (with the result) or error.",
        "operationId": "status_status__job_id__get",
        "security": [{"ApiKey": []}],
        "parameters": [{
            "name": "job_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "maxLength": 64},
        }],
        "responses": {
            "200": _envelope("The job's state; data.result once ready"),
            **{code: _envelope(text) for code, text in _STATUS_ERRORS.items()},
        },
    }
    return {
        "/generate": {"post": _submit(
            "generate_generate_post", "Generate",
            "Start drafting one report section; poll GET /status/{job_id}.", "GenerateRequest",
        )},
        "/refine": {"post": _submit(
            "refine_refine_post", "Refine",
            "Start refining a section (`original_text` base64) with a prompt.", "RefineRequest",
        )},
        "/status/{job_id}": {"get": status},
    }


def report_schemas() -> dict[str, Any]:
    _, schema = models_json_schema(
        [(GenerateRequest, "validation"), (RefineRequest, "validation"),
         (ApiEnvelope, "serialization")],
        ref_template=_REF,
    )
    return schema["$defs"]


def with_report_operations(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap FastAPI's `app.openapi` so its document also lists the report operations."""

    def document() -> dict[str, Any]:
        spec = openapi()  # FastAPI builds it once and caches it
        if "/generate" not in spec["paths"]:
            spec["paths"] = {**report_paths(), **spec["paths"]}
            components = spec.setdefault("components", {})
            for name, schema in report_schemas().items():
                components.setdefault("schemas", {}).setdefault(name, schema)
            components.setdefault("securitySchemes", {}).update(_API_KEY_SCHEME)
        return spec

    return document
