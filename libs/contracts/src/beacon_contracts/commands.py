"""Commands: one typed payload per job kind, each with every field its worker reads.

On the wire a command is still a `JobRequested` envelope (type "JobRequested", routing key
`job.requested.<kind>`, the same queues): `kind` tells the commands apart, so a consumer
parses the payload straight into the right class. What used to be `params: dict` is now the
command's own fields, validated where they are sent and again, once, where they arrive
(docs/decisions.md, "Typed commands").
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, TypeAdapter

from beacon_contracts.base import JobKind, Payload
from beacon_contracts.report_api import GenerateRequest, RefineRequest
from beacon_contracts.research_api import BootstrapRequest, QueryFilters

JOB_REQUESTED = "JobRequested"


class Command(Payload):
    """A job for one worker. `job_id` is the gateway's (or ingestion's) job record."""

    EVENT_TYPE: ClassVar[str] = JOB_REQUESTED

    job_id: str = Field(min_length=1)
    owner: str = Field(description="Opaque owner id: a hash of the API key or a user id")
    request_id: str | None = Field(
        default=None, description="The HTTP request that started the job, to join the logs")

    @classmethod
    def job_kind(cls) -> JobKind:
        return cls.model_fields["kind"].default


class GenerateSection(Command):
    """Draft one report section from the customer's own material."""

    kind: Literal[JobKind.GENERATE] = JobKind.GENERATE
    session_id: str = Field(min_length=1, description="Drafts of one session see each other")
    request: GenerateRequest


class RefineSection(Command):
    """Rewrite a drafted section as the prompt asks."""

    kind: Literal[JobKind.REFINE] = JobKind.REFINE
    session_id: str = Field(min_length=1, description="Drafts of one session see each other")
    request: RefineRequest


class AnswerQuestion(Command):
    """Answer a question over the filings, frame by frame."""

    kind: Literal[JobKind.QUERY] = JobKind.QUERY
    question: str = Field(min_length=1, max_length=4000)
    filters: QueryFilters | None = None
    stream: bool = Field(default=False, description="Send the answer's tokens as frames")


class IngestDocument(Command):
    """Run a stored document through the ingestion stages."""

    kind: Literal[JobKind.INGEST] = JobKind.INGEST
    document_id: int = Field(ge=1)


class RunBootstrap(Command, BootstrapRequest):
    """Queue the documents of the source registry for these companies, types and years."""

    kind: Literal[JobKind.BOOTSTRAP] = JobKind.BOOTSTRAP


COMMAND_TYPES: tuple[type[Command], ...] = (
    GenerateSection, RefineSection, AnswerQuestion, IngestDocument, RunBootstrap,
)
AnyCommand = Annotated[
    GenerateSection | RefineSection | AnswerQuestion | IngestDocument | RunBootstrap,
    Field(discriminator="kind"),
]
_COMMAND = TypeAdapter(AnyCommand)


def parse_command(payload: dict) -> Command:
    """The command a JobRequested payload carries; raises pydantic's ValidationError."""
    return _COMMAND.validate_python(payload)

