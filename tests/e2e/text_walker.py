"""Walk every text field of both contracts, as the served OpenAPI document lists them, with
control characters.

Every string a client sends (JSON body fields at any depth, list items, path, query and
header parameters, multipart form fields) must be typed `Line` (no control character) or
`Text` (tab, CR and LF allowed), which shows as the pattern of either in the document. For
each field this sends one request per control character and expects it refused (400 on the
research API, 422 on the report API) with the field named in the error's details; a `Text`
field must also take tab, CR and LF without complaint.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from beacon_contracts.text import LINE_PATTERN, TEXT_PATTERN

CONTROLS = ("\x00", "\x01", "\x1b", "\x7f", "\x9b")
HEADER_CONTROLS = ("\x01", "\x1b", "\x7f")  # NUL, CR and LF cannot travel in a header
FREE_TEXT = "tab\there, CR\r and LF\nall three"
NOT_TEXT = {"original_text"}  # base64; its decoded text is checked by the model itself
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class TextField:
    method: str
    path: str
    location: str  # body, form, path, query, header
    pointer: tuple[str | int, ...]  # where in the body; (name,) for parameters
    kind: str  # "line" or "text"
    schema: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path} {self.location}:{'.'.join(map(str, self.pointer))}"


def text_fields(spec: dict[str, Any]) -> tuple[list[TextField], list[str]]:
    """Every text field of every operation, and the string fields that carry neither type."""
    fields, untyped = [], []
    for path, item in spec["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            found: list[tuple[str, tuple, dict]] = []
            for parameter in operation.get("parameters", []):
                _strings(spec, parameter["schema"], (parameter["name"],), parameter["in"], found)
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content and not path.endswith("/import"):
                _strings(spec, content["application/json"]["schema"], (), "body", found)
            if "multipart/form-data" in content:
                _strings(spec, content["multipart/form-data"]["schema"], (), "form", found)
            for location, pointer, schema in found:
                pattern = schema.get("pattern")
                kind = {LINE_PATTERN: "line", TEXT_PATTERN: "text"}.get(pattern)
                if kind is None:
                    untyped.append(f"{method.upper()} {path} {location}:{'.'.join(map(str, pointer))}")
                    continue
                fields.append(TextField(method, path, location, pointer, kind, schema))
    return fields, untyped


def _strings(spec, schema, pointer, location, found) -> None:
    schema = _resolve(spec, schema)
    for option in schema.get("anyOf", []):
        _strings(spec, option, pointer, location, found)
    kind = schema.get("type")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            _strings(spec, sub, (*pointer, name), location, found)
    elif kind == "array":
        _strings(spec, schema.get("items", {}), (*pointer, 0), location, found)
    elif kind == "string" and "enum" not in schema and "const" not in schema \
            and "format" not in schema and pointer[-1] not in NOT_TEXT:
        found.append((location, pointer, schema))


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def value_for(field: TextField, inner: str) -> str:
    """`inner` inside a value that satisfies the field's other constraints."""
    if "@" in field.schema.get("pattern", "") or field.pointer[-1] == "email":
        return f"a{inner}b@example.com"
    size = max(field.schema.get("minLength", 0), len(inner) + 2)
    value = ("x" + inner).ljust(size, "y")
    return value[: field.schema.get("maxLength", len(value))]


async def send(client: httpx.AsyncClient, field: TextField, value: str, headers: dict[str, str],
               *, free: bool = False) -> httpx.Response:
    """The field set to `value`, in a request that does nothing even if it passed: with
    `free`, another part of it is invalid."""
    path, params, body, form = field.path, {}, None, None
    headers = dict(headers)
    for name in re.findall(r"\{(\w+)\}", path):
        replacement = value if field.location == "path" and field.pointer == (name,) else "1"
        path = path.replace(f"{{{name}}}", quote(replacement, safe=""))
    if field.location == "query":
        params[field.pointer[0]] = value
    elif field.location == "header":
        headers[field.pointer[0]] = value
    elif field.location == "body":
        body = _nest(field.pointer, value)
        body["__probe"] = 1  # an unknown field: nothing is done even if the rest were valid
    elif field.location == "form":
        form = {"doc_type": "not-a-type" if free else "annual_report", str(field.pointer[0]): value}
    if field.path in ("/generate", "/refine") and body is None:
        body = {"type": "not-a-type"}
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if body is not None:
        kwargs["json"] = body
    if form is not None:
        kwargs["files"] = {"file": ("x.pdf", b"%PDF-1.4 not really", "application/pdf")}
        kwargs["data"] = form
    return await client.request(field.method.upper(), path, **kwargs)


def _nest(pointer, value):
    root: Any = {}
    node = root
    for here, after in zip(pointer, [*pointer[1:], None]):
        child = value if after is None else ([] if isinstance(after, int) else {})
        if isinstance(node, list):
            node.append(child)
        else:
            node[here] = child
        node = child
    return copy.deepcopy(root)


def named(response: httpx.Response, field: TextField) -> bool:
    """Whether the error names the field (research: details[].field; report: details[].loc)."""
    try:
        body = response.json()
    except ValueError:
        return False
    dotted = ".".join(map(str, field.pointer))
    if "error" in body:
        return any(d.get("field") in (dotted, str(field.pointer[-1])) for d in body["error"]["details"])
    details = body.get("data", {}).get("details") or []
    return any([str(p) for p in d.get("loc", [])][-len(field.pointer):] == [str(p) for p in field.pointer]
               or (field.location == "header" and str(d.get("loc", [""])[-1]).lower() == dotted.lower())
               for d in details)


async def walk(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Findings: fields without a type, control characters let through, free text refused."""
    spec = (await client.get("/openapi.json")).json()
    fields, untyped = text_fields(spec)
    let_through, refused_free_text = [], []
    for field in fields:
        report = not field.path.startswith("/api/v1")
        for control in HEADER_CONTROLS if field.location == "header" else CONTROLS:
            response = await send(client, field, value_for(field, control), headers)
            if report and field.location == "path":
                # A report job id is only looked up: one with a control character is a job
                # that does not exist, answered as the contract answers an unknown job.
                if response.status_code != 404:
                    let_through.append((field.label, repr(control), response.status_code, response.text[:200]))
                continue
            if field.location == "header" and response.status_code == 400 \
                    and response.text == "Invalid HTTP request received.":
                continue  # the HTTP server (uvicorn) refuses the header before the app sees it
            expected = 422 if report else 400
            if response.status_code != expected or not named(response, field):
                let_through.append((field.label, repr(control), response.status_code, response.text[:200]))
        if field.kind == "text":
            response = await send(client, field, value_for(field, FREE_TEXT), headers, free=True)
            if named(response, field):
                refused_free_text.append((field.label, response.status_code, response.text[:200]))
    return {"fields": fields, "untyped": untyped, "let_through": let_through,
            "refused_free_text": refused_free_text}
