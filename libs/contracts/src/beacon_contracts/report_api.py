"""Requests and responses of the report-section API (frontend contract 000)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from beacon_contracts.material import MaterialDocument
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


class Citation(BaseModel):
    """One footnote of a drafted section: `[^index]` in the markdown."""

    index: int
    document_id: int
    document_title: str
    page_number: int
    source_text: str


class SectionResult(BaseModel):
    """What a finished generate job stores; refine jobs use refined_section_b64. `citations`
    and `changes` are additions to contract 000 (issue 13)."""

    customer_id: str
    opportunity_id: str
    section_title: str
    generated_section_b64: str | None = None
    refined_section_b64: str | None = None
    citations: list[Citation] | None = Field(
        default=None, description="The footnotes of the section, by index")
    changes: list[str] | None = Field(
        default=None, description="What a refinement changed, in short sentences")
    flags: list[str] | None = Field(
        default=None, description="Checks that need a reader's eye: figures that disagree with "
        "another section of the session, footnotes or numbers removed as unsupported")

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


# --- customer material and the section catalogue (issue 13; additive to contract 000) ----

class DocumentAcceptedData(BaseModel):
    document_id: int
    status: JobState


class DocumentAcceptedEnvelope(BaseModel):
    """202 of POST /documents: "Document queued for ingestion", or "Identical document
    already uploaded" with the owner's existing document."""

    status: Literal["processing"]
    message: str
    data: DocumentAcceptedData


class DocumentEnvelope(BaseModel):
    """GET /documents/{document_id}: processing (pending or running), ready, or error
    (`data.error` says why)."""

    status: Literal["processing", "ready", "error"]
    message: str
    data: MaterialDocument


class DocumentListData(BaseModel):
    documents: list[MaterialDocument]


class DocumentListEnvelope(BaseModel):
    status: Literal["ok"]
    message: str
    data: DocumentListData


class DocumentDeletedData(BaseModel):
    document_id: int
    deleted: bool


class DocumentDeletedEnvelope(BaseModel):
    status: Literal["ok"]
    message: str
    data: DocumentDeletedData


class SectionsData(BaseModel):
    sections: dict[str, list[str]] = Field(description="Allowed section titles per report type")


class SectionsEnvelope(BaseModel):
    status: Literal["ok"]
    message: str
    data: SectionsData
