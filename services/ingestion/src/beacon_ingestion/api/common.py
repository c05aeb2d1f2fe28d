"""What the internal app's routers share: their dependencies and request helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from beacon_runtime.http_errors import ServiceError
from fastapi import Header, Request

from beacon_ingestion.companies.imports import InvalidImport
from beacon_ingestion.domain import Company, normalize_symbol
from beacon_ingestion.repository.port import IngestionRepository
from beacon_ingestion.settings import IngestionSettings

Check = Callable[[], Awaitable[bool]]
API = "/api/v1"


@dataclass
class ApiDeps:
    settings: IngestionSettings
    repo: IngestionRepository
    checks: Mapping[str, Check] = field(default_factory=dict)
    documents: Any = None  # DocumentService, wired in bootstrap
    downloader: Any = None  # SafeDownloader, wired in bootstrap
    search: Any = None  # ChunkSearch, wired in bootstrap
    bootstrapper: Any = None  # Bootstrapper, wired in bootstrap
    material: Any = None  # MaterialService, wired in bootstrap


def require_admin(x_user_role: Annotated[str | None, Header()] = None) -> None:
    if (x_user_role or "").lower() != "admin":
        raise ServiceError(403, "Admin role required")


def symbol_or_404(raw: str) -> str:
    try:
        return normalize_symbol(raw)
    except ValueError:
        raise ServiceError(404, f"Company {raw} not found") from None


async def company_or_404(repo: IngestionRepository, raw: str) -> Company:
    company = await repo.get_company(symbol_or_404(raw))
    if company is None:
        raise ServiceError(404, f"Company {raw} not found")
    return company


def invalid_import(exc: InvalidImport) -> ServiceError:
    return ServiceError(400, f"Invalid file: {len(exc.errors)} row error(s)", "VALIDATION_ERROR",
                        [e.detail() for e in exc.errors])


async def read_file_body(request: Request, max_bytes: int) -> tuple[str | None, str | None, bytes]:
    """A file sent as multipart (`file` field) or as the raw body: (filename, type, bytes)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + 64 * 1024:
        raise ServiceError(413, f"File larger than {max_bytes} bytes")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ServiceError(400, "Missing file", details=[{"field": "file", "message": "required"}])
        data = await upload.read(max_bytes + 1)
        name, ctype = upload.filename, upload.content_type
    else:
        data = bytearray()
        async for part in request.stream():
            data.extend(part)
            if len(data) > max_bytes:
                break
        name, ctype, data = None, content_type, bytes(data)
    if len(data) > max_bytes:
        raise ServiceError(413, f"File larger than {max_bytes} bytes")
    if not data:
        raise ServiceError(400, "Empty file", details=[{"field": "file", "message": "empty"}])
    return name, ctype, data


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(400, "File is not UTF-8 text",
                           details=[{"field": "file", "message": "not UTF-8"}]) from None


def since_24h() -> datetime:
    return datetime.now(UTC) - timedelta(hours=24)
