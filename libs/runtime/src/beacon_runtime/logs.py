"""structlog JSON logs with request_id, job_id and trace_id bound through contextvars."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import orjson
import structlog
from opentelemetry import trace


# The id the client got back in X-Request-ID. It travels in every bus message published while
# it is current (the `x-request-id` header), and a consumer makes it current again, so the
# worker's log lines carry the id the client can quote. A ContextVar of its own besides
# structlog's binding: reading it on every publish costs one lookup, not a dict of all.
REQUEST_ID_HEADER = "x-request-id"
request_id_var: ContextVar[str | None] = ContextVar("beacon_request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Make `request_id` current, for log lines and for messages published meanwhile."""
    if not request_id:
        yield
        return
    token = request_id_var.set(request_id)
    log_tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**log_tokens)
        request_id_var.reset(token)


def _add_trace_id(_, __, event_dict):
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict.setdefault("trace_id", format(span.trace_id, "032x"))
    return event_dict


# Whole words only: `refresh_token` is a secret, `output_tokens` is a count.
_SECRET_FIELD = re.compile(
    r"(^|_)(password|passwd|secret|token|authorization|api_?key|cookie|credentials?)$", re.I
)


def _redact_secrets(_, __, event_dict):
    """A safety net: no field whose name says it holds a secret is ever written out."""
    for key in list(event_dict):
        if _SECRET_FIELD.search(key):
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(
    service: str, level: str = "INFO", json: bool = True, *, cache_loggers: bool = True
) -> None:
    """Process-wide, once at start-up. `cache_loggers` lets each module logger build its
    processor chain once instead of on every call (measured: ~2 % of the gateway's POST
    throughput); only a test that reconfigures logging afterwards needs it off."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_id,
        _redact_secrets,
    ]
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    if json:
        # orjson straight to the byte stream, as structlog's performance guide advises: a
        # log line was ~15 % of the gateway's CPU per POST /generate with json.dumps and
        # PrintLogger (measured in situ). Still one write per line: nothing is held back.
        final, factory = (
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
            structlog.BytesLoggerFactory(sys.stdout.buffer),
        )
    else:
        final, factory = renderer, structlog.PrintLoggerFactory(file=sys.stdout)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, final],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=cache_loggers,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Route library logs (uvicorn, aio-pika) through the same renderer.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
