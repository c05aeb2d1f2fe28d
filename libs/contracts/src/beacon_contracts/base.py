"""What every bus message is built from: the payload base, the job kinds, the job error.

Its own module so that events and commands can both build on it without importing each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobKind(StrEnum):
    GENERATE = "generate"
    REFINE = "refine"
    QUERY = "query"
    INGEST = "ingest"
    BOOTSTRAP = "bootstrap"


class Payload(BaseModel):
    """Base of every event payload. Subclasses set EVENT_TYPE."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    EVENT_TYPE: ClassVar[str]


class JobError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    error_code: str
    message: str
