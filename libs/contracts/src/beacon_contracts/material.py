"""Customer material of the report writer: the public document routes (`/documents`, in the
report API's envelope) and ingestion's internal material search, which report-writer calls.

Material belongs to an owner (a report-API key's record, `key:<id>` or `static:<n>`); the
internal routes take it from the `X-Material-Owner` header, which only the gateway and the
report writer set (internal network only).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from beacon_contracts.text import Line

OWNER_HEADER = "X-Material-Owner"
_TAG = re.compile(r"^[A-Za-z0-9._:-]+$")


def _check_tag(value: str) -> str:
    if not _TAG.match(value):
        raise ValueError("use letters, digits, '.', '_', ':' or '-'")
    return value


# Customer and opportunity ids as material tags. The character check is a validator, not a
# schema pattern: the documented pattern of every identifier is Line's (text.py).
Tag = Annotated[Line, Field(min_length=1, max_length=100), AfterValidator(_check_tag)]
DocumentState = Literal["pending", "processing", "completed", "failed"]


class MaterialDocument(BaseModel):
    """One customer document, as `GET /documents/{document_id}` shows it in `data`."""

    document_id: int
    title: str
    customer_id: str | None = Field(description="None: the owner's own offer material")
    opportunity_id: str | None
    company_symbol: str | None
    content_type: str | None
    status: DocumentState
    page_count: int | None
    chunk_count: int
    file_size_bytes: int | None
    error: str | None
    created_at: str | None


class MaterialAccepted(BaseModel):
    document_id: int
    status: DocumentState
    created: bool = Field(description="False: the owner already uploaded these bytes with these tags")


class MaterialSearchRequest(BaseModel):
    """Passages of one owner's material about one customer (its documents and the owner's
    offer material), one list of hits per query."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Tag
    opportunity_id: Tag | None = None
    queries: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(min_length=1, max_length=40)
    limit: int = Field(default=6, ge=1, le=30)
    neighbours: bool = Field(
        default=False, description="Also return, with each hit, the chunks just before and after it "
        "in its document (`previous`, `next`): a sentence a chunk boundary cut in two is whole "
        "only with them")


class MaterialNeighbour(BaseModel):
    """The chunk just before or after a hit in the same document (same page or not)."""

    chunk_id: str
    chunk_index: int
    page_number: int
    section: str | None = None
    text: str


class MaterialHit(BaseModel):
    chunk_id: str
    document_id: int
    document_title: str
    page_number: int
    section: str | None = None
    text: str
    score: float
    offer: bool = Field(description="The owner's offer material rather than the customer's")
    public: bool = Field(default=False, description="A public filing of the customer's listed company "
                         "(the material was uploaded with its `company_symbol`), not the owner's material")
    chunk_index: int | None = Field(
        default=None, description="The chunk's place in its document: a sentence cut at the end "
        "of one hit goes on in the hit with the next index")
    previous: MaterialNeighbour | None = Field(default=None, description="Asked with `neighbours`")
    next: MaterialNeighbour | None = Field(default=None, description="Asked with `neighbours`")


class MaterialResults(BaseModel):
    query: str
    hits: list[MaterialHit]


class MaterialSearchResponse(BaseModel):
    documents: int = Field(description="Completed documents the search covered")
    results: list[MaterialResults]
