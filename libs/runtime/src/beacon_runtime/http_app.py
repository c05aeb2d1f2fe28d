"""The FastAPI app every service serves: FastAPI plus "edge" layers that run outside
FastAPI's own ones.

FastAPI wraps each request in three layers of its own before any `add_middleware` layer
(ServerErrorMiddleware, ExceptionTelemetryMiddleware, AppBodyLimitMiddleware). Layers added
with `add_edge_middleware` run outside them instead, which buys two things:

- the request id, security and CORS headers and the metrics of RequestContextMiddleware
  also cover the 500 that ServerErrorMiddleware sends for an unhandled error (inside it,
  that answer went out without them);
- a layer that answers requests itself (the gateway's report API) does not pay for
  FastAPI's layers, which wrap every ASGI message of every request. That is a small
  saving (POST /generate 1.780 -> 1.772 M instructions, measured with
  bench/report_api_instructions.py); the headers on 500s are the main reason.

FastAPI's server span (its `telemetry=`) is made in `FastAPI.__call__`, before any layer,
so it still covers edge layers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from beacon_runtime.telemetry import fastapi_telemetry


class ServiceApp(FastAPI):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("telemetry", fastapi_telemetry())
        super().__init__(**kwargs)
        self.edge_middleware: list[Middleware] = []

    def add_edge_middleware(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        """Like `add_middleware` (the last one added is the outermost), but outside
        FastAPI's own layers and every `add_middleware` layer."""
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.edge_middleware.insert(0, Middleware(cls, *args, **kwargs))

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.edge_middleware):
            app = cls(app, *args, **kwargs)
        return app
