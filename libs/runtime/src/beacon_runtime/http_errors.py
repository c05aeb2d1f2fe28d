"""The research API's error format for services' internal HTTP APIs.

The gateway forwards internal answers to clients unchanged, so internal APIs answer errors
in the public shape: `{"error": {"code", "message", "details": [{"field", "message"}]},
"request_id"}`.
"""

from __future__ import annotations

from typing import Any

from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

CODES_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ServiceError(Exception):
    def __init__(
        self, status_code: int, message: str, code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or CODES_BY_STATUS.get(status_code, "ERROR")
        self.message = message
        self.details = details or []


def research_error_body(code: str, message: str, details=None, request_id: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}, "request_id": request_id}


def field_details(errors) -> list[dict[str, str]]:
    """Pydantic errors as the contract's [{field, message}]."""
    details = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        details.append({"field": ".".join(loc) or "body", "message": error.get("msg", "invalid")})
    return details


def install_internal_error_handlers(app) -> None:
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def respond(request: Request, status: int, code: str, message: str, details=None):
        request_id = request.headers.get("x-request-id")
        return JSONResponse(research_error_body(code, message, details, request_id), status_code=status)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        return respond(request, exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return respond(request, 400, "VALIDATION_ERROR", "Invalid request parameters",
                       field_details(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = CODES_BY_STATUS.get(exc.status_code, "ERROR")
        return respond(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(DependencyUnavailable)
    async def _unavailable(request: Request, exc: DependencyUnavailable):
        log.error("dependency.unavailable", error=str(exc))
        return respond(request, 503, "SERVICE_UNAVAILABLE", "A backing service is temporarily unavailable")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("request.unhandled_error")
        return respond(request, 500, "INTERNAL_ERROR", "Internal server error")
