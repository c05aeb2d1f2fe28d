"""The two error contracts served side by side.

Report API (contract 000): `{"status": "error", "message", "data": {"error_code", "path",
"details"?}}`. Research API under /api/v1 (contract 003): `{"error": {"code", "message",
"details": [{"field", "message"}]}, "request_id"}`. Which one applies depends on the path
only, so every error, including 404, 405 and malformed JSON, is in the right shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

RESEARCH_PREFIX = "/api/v1"

# Research-API codes by HTTP status, as the contract's table gives them.
_RESEARCH_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
_REPORT_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ApiError(Exception):
    """Raise anywhere in a request: rendered in the format of the path's contract."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def _is_research(path: str) -> bool:
    return path == RESEARCH_PREFIX or path.startswith(RESEARCH_PREFIX + "/")


def error_response(
    scope_or_request: Any,
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    scope = scope_or_request.scope if isinstance(scope_or_request, Request) else scope_or_request
    path = scope.get("path", "")
    if _is_research(path):
        body: dict[str, Any] = {
            "error": {"code": code, "message": message, "details": details or []},
            "request_id": scope.get("state", {}).get("request_id"),
        }
    else:
        data: dict[str, Any] = {"error_code": code, "path": path}
        if details is not None:
            data["details"] = details
        body = {"status": "error", "message": message, "data": data}
    return JSONResponse(body, status_code=status_code, headers=headers)


def exception_response(scope_or_request: Any, exc: Exception) -> JSONResponse:
    """An exception raised while handling a request, in the path's error format: an
    ApiError as it says, an unreachable backing server as 503, anything else as a 500
    without internals (logged with its traceback; call it from the `except` block)."""
    if isinstance(exc, ApiError):
        return error_response(
            scope_or_request, exc.status_code, exc.code, exc.message, exc.details, exc.headers
        )
    if isinstance(exc, DependencyUnavailable):
        log.error("dependency.unavailable", error=str(exc))
        return error_response(
            scope_or_request, 503, "SERVICE_UNAVAILABLE",
            "A backing service is temporarily unavailable", headers={"Retry-After": "5"},
        )
    log.exception("request.unhandled_error")
    return error_response(scope_or_request, 500, "INTERNAL_ERROR", "Internal server error")


def plain_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's error list made JSON-safe (ctx may hold exception objects)."""
    plain = []
    for error in errors:
        item = {k: v for k, v in error.items() if k not in ("ctx", "url", "input")}
        if "ctx" in error:
            item["ctx"] = {k: str(v) for k, v in error["ctx"].items()}
        plain.append(item)
    return plain


def _field_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        details.append({"field": ".".join(loc) or "body", "message": error.get("msg", "invalid")})
    return details


def install_error_handlers(app: FastAPI) -> None:

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return exception_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if _is_research(request.url.path):
            return error_response(
                request, 400, "VALIDATION_ERROR", "Invalid request parameters", _field_details(errors)
            )
        if any(error.get("type") == "json_invalid" or (
            error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)
        ) for error in errors):
            # Not JSON at all, or no body: the parser's complaint, not a field's.
            return error_response(
                request, 400, "BAD_REQUEST", "Request body is not valid JSON", plain_errors(errors)
            )
        return error_response(
            request, 422, "VALIDATION_ERROR", "Request validation failed", plain_errors(errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        codes = _RESEARCH_CODES if _is_research(request.url.path) else _REPORT_CODES
        code = codes.get(exc.status_code, "ERROR")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"No route for {request.method} {request.url.path}"
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(DependencyUnavailable)
    async def _unavailable(request: Request, exc: DependencyUnavailable):
        return exception_response(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return exception_response(request, exc)
