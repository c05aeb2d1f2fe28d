"""Requests and responses of the report-section API (frontend contract 000)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from beacon_contracts.sections import SECTIONS, ReportType, canonical_section
from beacon_contracts.text import Line, Text, check_text

EnvelopeStatus = Literal["ok", "processing", "ready", "busy", "error"]

ShortField = Annotated[Line, Field(min_length=1, max_length=200)]


class GenerateRequest(BaseModel):
    # Unknown fields are ignored: older frontends still send e.g. a request_id.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    type: ReportType
    customer_id: ShortField
    opportunity_id: ShortField
    section_title: ShortField

    @model_validator(mode="after")
    def _canonical_title(self) -> GenerateRequest:
        canonical = canonical_section(self.type, self.section_title)
        if canonical is None:
            allowed = ", ".join(SECTIONS[self.type])
            raise ValueError(
                f"section_title {self.section_title!r} is not allowed for {self.type.value}; "
                f"allowed: {allowed}"
            )
        self.section_title = canonical
        return self


class RefineRequest(GenerateRequest):
    original_text: str = Field(min_length=1, description="base64-encoded markdown or text")
    prompt: Annotated[Text, Field(min_length=1, max_length=4000)]

    @field_validator("original_text")
    @classmethod
    def _is_base64_text(cls, value: str) -> str:
        try:
            decoded = base64.b64decode(value, validate=True)
            text = decoded.decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise ValueError("original_text must be base64-encoded UTF-8 text") from exc
        if not text.strip():
            raise ValueError("original_text decodes to empty text")
        try:
            check_text(text)
        except ValueError as exc:
            raise ValueError(f"original_text, decoded, {exc}") from None
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be empty")
        return value

    def original_markdown(self) -> str:
        return base64.b64decode(self.original_text).decode("utf-8")


class ApiEnvelope(BaseModel):
    """Every answer of the report API, errors included."""

    status: EnvelopeStatus
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


JobState = Literal["pending", "processing", "completed", "failed"]


class JobAccepted(BaseModel):
    job_id: str
    status: JobState


class AcceptedEnvelope(BaseModel):
    """202 of POST /generate and /refine: "Job queued", or "Identical job already queued"
    with the job of an identical request still in flight."""

    status: Literal["processing"]
    message: str
    data: JobAccepted


class ErrorData(BaseModel):
    error_code: str
    path: str
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Pydantic's error list (422) or the JSON parser's (400)"
    )


class ErrorEnvelope(BaseModel):
    """Every error of the report API: HTTP 4xx/5xx with `status` "error"."""

    status: Literal["error"]
    message: str
    data: ErrorData


class SectionResult(BaseModel):
    """What a finished generate job stores; refine jobs use refined_section_b64."""

    customer_id: str
    opportunity_id: str
    section_title: str
    generated_section_b64: str | None = None
    refined_section_b64: str | None = None

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class JobFailure(BaseModel):
    error_code: str
    message: str


class JobStatusData(BaseModel):
    job_id: str
    status: JobState
    result: SectionResult | None = Field(default=None, description="Once completed")
    error: JobFailure | None = Field(default=None, description="Once failed")


class StatusEnvelope(BaseModel):
    """200 of GET /status/{job_id}: processing (pending or running), ready or error."""

    status: Literal["processing", "ready", "error"]
    message: str
    data: JobStatusData
