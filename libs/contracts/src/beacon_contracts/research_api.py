"""Requests and responses of the research API (contract 003, base path /api/v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "reviewer", "admin"]


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody
    request_id: str | None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=10, max_length=4096)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(default=None, max_length=4096)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class MeResponse(BaseModel):
    id: int
    email: str
    full_name: str
    role: Role
    daily_query_limit: int
    queries_today: int


class CreateUserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=8, max_length=1024)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role = "user"
    daily_query_limit: int | None = Field(default=None, ge=1, le=100_000)


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: Role
    daily_query_limit: int
    disabled: bool
    created_at: datetime | None


class UserList(BaseModel):
    total: int
    limit: int
    offset: int
    users: list[UserOut]


class CreateApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="Shown once; only its hash is stored")


class ApiKeyList(BaseModel):
    keys: list[ApiKeyOut]


class QueryFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_symbol: str | None = Field(default=None, max_length=40)
    fiscal_period: str | None = Field(default=None, max_length=20)
    document_types: list[str] | None = Field(default=None, max_length=10)


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=10, max_length=2000)
    filters: QueryFilters | None = None
    stream: bool = False


class ReviewDecisionRequest(BaseModel):
    """Body of POST /hitl/{review_id}/approve and /reject (the body may be left out)."""

    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=4000)


class ReviewEditRequest(BaseModel):
    """Body of POST /hitl/{review_id}/edit: the text the analyst will see instead."""

    model_config = ConfigDict(extra="forbid")

    edited_response: str = Field(min_length=1, max_length=20000, pattern=r"\S")
    notes: str | None = Field(default=None, max_length=4000)
