"""What FastAPI cannot know about our answers, added to the document it generates.

FastAPI documents each route's success response from its `response_model` and a 422 with
its own `HTTPValidationError` for any route with parameters. Our answers differ: the
research API answers a validation failure with 400 in its error format, the report API
with 422 in its envelope, and every route answers the errors its policy implies (401, 403,
429, 413) in its contract's format. This adds those, the two security schemes the policies
name, and drops FastAPI's 422 where it is never sent. A route's own `responses=` wins.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from beacon_contracts.report_api import ErrorEnvelope
from beacon_contracts.research_api import ErrorResponse
from beacon_gateway.api.errors import RESEARCH_PREFIX
from beacon_gateway.api.policy import API_KEY_AND_SESSION, EVERYONE, PUBLIC, SECURITY_SCHEMES

REF = "#/components/schemas/{model}"
_METHODS = ("get", "put", "post", "delete", "patch")


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi


def complete(spec: dict[str, Any]) -> None:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (ErrorResponse, ErrorEnvelope):
        _add_schema(schemas, model)
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, item in spec["paths"].items():
        for method in _METHODS:
            if "x-callers" in item.get(method, {}):  # a route with a policy (PublicRoute)
                _add_errors(path, item[method])
    if "HTTPValidationError" not in str(spec["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _add_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    if _is_fastapi_422(responses.get("422")):
        del responses["422"]
    research = path.startswith(RESEARCH_PREFIX)
    callers = operation.get("x-callers", PUBLIC)
    has_input = bool(operation.get("parameters") or operation.get("requestBody"))
    errors: dict[str, str] = {}
    if research and has_input:
        errors["400"] = "Invalid request parameters; error.details lists them"
    if not research and (callers == API_KEY_AND_SESSION or "requestBody" in operation):
        errors["400"] = "Session-Id missing, or the body is not JSON"
    if callers != PUBLIC:
        errors["401"] = "Missing or invalid credentials"
    if callers == "bearer" and set(operation.get("x-roles", ())) != {r.value for r in EVERYONE}:
        errors["403"] = "Your role may not call this endpoint"
    if "{" in path:
        errors["404"] = "Not found"
    if "requestBody" in operation:
        errors["413"] = "Body too large"
    if not research and "requestBody" in operation:
        errors["422"] = "Validation failed; data.details lists why"
    if "x-rate-limit" in operation:
        errors["429"] = "Rate limit exceeded; see Retry-After and X-RateLimit-Reset"
    errors["503"] = "A backing service is unavailable; retry later"
    model = "ErrorResponse" if research else "ErrorEnvelope"
    for status, description in errors.items():
        responses.setdefault(status, {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
        })


def _is_fastapi_422(response: dict[str, Any] | None) -> bool:
    return response is not None and "HTTPValidationError" in str(response.get("content", ""))


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    _, document = models_json_schema([(model, "serialization")], ref_template=REF)
    for name, schema in document.get("$defs", {}).items():
        schemas.setdefault(name, schema)
