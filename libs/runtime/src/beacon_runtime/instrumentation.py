"""Spans and metrics for the calls a job spends its time in, each kind made in one place:

- model calls and embedding calls: every `ChatModel` and `Embedder` subclass is wrapped
  when it is defined (the ports call `instrument_*` from `__init_subclass__`), so an adapter
  added later, or an offline twin, is traced without a line of its own. Attributes follow
  the OpenTelemetry GenAI conventions (`gen_ai.operation.name`, `gen_ai.request.model`,
  `gen_ai.usage.input_tokens` / `output_tokens`); tokens are also counted for Prometheus.
- vector searches and upserts: every `VectorStore` subclass, likewise (database
  conventions: `db.system.name`, `db.operation.name`, `db.collection.name`).
- job transitions: every `JobStore` subclass counts the jobs it creates, starts and ends,
  with their durations (the gateway is the only writer of job status, so its store sees
  every job exactly once per transition: a duplicate or late event changes nothing and is
  not counted).
- LangGraph nodes: `traced_node` wraps a node where a graph adds it (rag-query's node
  wrapper, report-writer's graph).

Spans are recorded only when the process exports them (`telemetry.setup_tracing`);
otherwise they are non-recording and cost a context switch, nothing more.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from beacon_runtime.metrics import (
    JOB_QUEUED_SECONDS,
    JOB_SECONDS,
    JOBS_CREATED,
    JOBS_FINISHED,
    JOBS_STARTED,
    MODEL_CALL_SECONDS,
    MODEL_TOKENS,
)

tracer = trace.get_tracer("beacon_runtime.instrumentation")

# (kind, operation, model) of the instrumented call in progress: an adapter that delegates to
# its parent class's instrumented method is traced once, not twice, and `record_usage` knows
# what the tokens it is given belong to (even when spans are not recorded).
_inside: ContextVar[tuple[str, str, str] | None] = ContextVar("beacon_instrumented_call",
                                                              default=None)


def _kind() -> str | None:
    call = _inside.get()
    return call[0] if call else None


def provider_and_model(name: str) -> tuple[str, str]:
    """Adapters are named `provider:model` (`openai:gpt-4o-mini`); offline twins by one word."""
    provider, sep, model = name.partition(":")
    return (provider, model) if sep else ("beacon", name)


def record_usage(input_tokens: int | None, output_tokens: int | None) -> None:
    """Token usage of the model call in progress (the current span): for adapters that learn
    it only at the end of a stream."""
    call = _inside.get()
    if call is None:
        return  # not inside an instrumented call: nothing to attribute the tokens to
    _usage(trace.get_current_span(), call[1], call[2], input_tokens, output_tokens)


def _usage(span, operation: str, model: str, input_tokens: int | None,
           output_tokens: int | None) -> None:
    for kind, count in (("input", input_tokens), ("output", output_tokens)):
        if count:
            span.set_attribute(f"gen_ai.usage.{kind}_tokens", count)
            MODEL_TOKENS.labels(operation, model, kind).inc(count)


def _genai_attributes(operation: str, adapter: Any) -> dict[str, Any]:
    provider, model = provider_and_model(getattr(adapter, "name", type(adapter).__name__))
    return {"gen_ai.operation.name": operation, "gen_ai.provider.name": provider,
            "gen_ai.request.model": model}


def _failed(span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    span.set_attribute("error.type", type(exc).__qualname__)


def _traced_call(kind: str, operation: str, method, attributes: Callable[..., dict[str, Any]],
                 after: Callable[..., None] | None = None):
    """Wrap an async method in a span `{operation} {model}` (GenAI) or `{operation}
    {collection}` (vectors), timed for Prometheus when it is a model call."""

    @functools.wraps(method)
    async def call(self, *args, **kwargs):
        if _kind() == kind:
            return await method(self, *args, **kwargs)
        attrs = attributes(self, *args, **kwargs)
        target = attrs.get("gen_ai.request.model") or attrs.get("db.collection.name") or ""
        token = _inside.set((kind, operation, target))
        started = time.perf_counter()
        outcome = "ok"
        try:
            with tracer.start_as_current_span(f"{operation} {target}".strip(), kind=SpanKind.CLIENT,
                                              attributes=attrs, record_exception=False,
                                              set_status_on_exception=False) as span:
                try:
                    result = await method(self, *args, **kwargs)
                except asyncio.CancelledError:
                    outcome = "cancelled"  # the job was cancelled: not the model's failure
                    raise
                except Exception as exc:
                    outcome = "error"
                    _failed(span, exc)
                    raise
                if after is not None:
                    after(span, attrs, result)
                return result
        finally:
            _inside.reset(token)
            if kind != "vectors":
                MODEL_CALL_SECONDS.labels(operation, attrs.get("gen_ai.request.model", ""),
                                          outcome).observe(time.perf_counter() - started)

    call.__beacon_instrumented__ = True
    return call


def _traced_stream(method):
    """Wrap a ChatModel.stream: one span over the whole stream, current only while the
    adapter produces the next piece (an async generator must not leave its context attached
    while its caller runs)."""

    @functools.wraps(method)
    async def stream(self, *args, **kwargs) -> AsyncIterator[str]:
        if _kind() == "chat":
            async for piece in method(self, *args, **kwargs):
                yield piece
            return
        attrs = _genai_attributes("chat", self)
        attrs["gen_ai.request.stream"] = True  # not a convention attribute: ours
        span = tracer.start_span(f"chat {attrs['gen_ai.request.model']}", kind=SpanKind.CLIENT,
                                 attributes=attrs)
        context = trace.set_span_in_context(span)
        pieces = method(self, *args, **kwargs)
        started = time.perf_counter()
        outcome = "ok"
        try:
            while True:
                token = otel_context.attach(context)
                inside = _inside.set(("chat", "chat", attrs["gen_ai.request.model"]))
                try:
                    piece = await pieces.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    _inside.reset(inside)
                    otel_context.detach(token)
                yield piece
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"  # the caller stopped reading (a cancelled query)
            raise
        except Exception as exc:
            outcome = "error"
            _failed(span, exc)
            raise
        finally:
            await pieces.aclose()
            span.end()
            MODEL_CALL_SECONDS.labels("chat", attrs["gen_ai.request.model"], outcome).observe(
                time.perf_counter() - started)

    stream.__beacon_instrumented__ = True
    return stream


def _wrap(cls: type, name: str, wrapper: Callable[[Any], Any]) -> None:
    method = cls.__dict__.get(name)
    if method is None or getattr(method, "__isabstractmethod__", False):
        return
    if getattr(method, "__beacon_instrumented__", False):
        return
    setattr(cls, name, wrapper(method))


def _completion_usage(span, attrs: dict[str, Any], completion) -> None:
    if getattr(completion, "model", None):
        span.set_attribute("gen_ai.response.model", completion.model)
    _usage(span, "chat", attrs["gen_ai.request.model"],
           getattr(completion, "input_tokens", 0), getattr(completion, "output_tokens", 0))


def instrument_chat_model(cls: type) -> None:
    _wrap(cls, "complete", lambda m: _traced_call(
        "chat", "chat", m, lambda self, *_, **__: _genai_attributes("chat", self),
        _completion_usage))
    _wrap(cls, "stream", _traced_stream)


def _embedding_attributes(self, texts=None, *_, **__) -> dict[str, Any]:
    attrs = _genai_attributes("embeddings", self)
    attrs["beacon.embeddings.inputs"] = len(texts) if isinstance(texts, list) else 1
    if getattr(self, "dim", 0):
        attrs["gen_ai.embeddings.dimension.count"] = self.dim
    return attrs


def instrument_embedder(cls: type) -> None:
    for name in ("embed_documents", "embed_query"):
        _wrap(cls, name, lambda m: _traced_call("embeddings", "embeddings", m, _embedding_attributes))


def _vector_attributes(operation: str):
    def attributes(self, collection=None, *args, limit: int | None = None, filters=None, **__):
        attrs: dict[str, Any] = {"db.system.name": "qdrant", "db.operation.name": operation,
                                 "db.collection.name": str(collection or ""),
                                 "beacon.vector_store": type(self).__name__}
        if operation == "upsert" and args and isinstance(args[0], list):
            attrs["db.operation.batch.size"] = len(args[0])
        if limit is not None:
            attrs["beacon.vectors.limit"] = limit
        if filters:
            attrs["beacon.vectors.filters"] = sorted(filters)
        return attrs

    return attributes


def _hits(span, _attrs, result) -> None:
    if isinstance(result, list):
        span.set_attribute("db.response.returned_rows", len(result))


def instrument_vector_store(cls: type) -> None:
    _wrap(cls, "hybrid_search", lambda m: _traced_call(
        "vectors", "hybrid_search", m, _vector_attributes("hybrid_search"), _hits))
    _wrap(cls, "upsert", lambda m: _traced_call("vectors", "upsert", m, _vector_attributes("upsert")))


def traced_node(graph: str, node: str, action):
    """A LangGraph node run inside a span `node {node}`."""
    attributes = {"langgraph.graph": graph, "langgraph.node": node}

    @functools.wraps(action)  # LangGraph reads the signature (does it take `config`?)
    async def run(*args, **kwargs):
        with tracer.start_as_current_span(f"node {node}", attributes=attributes):
            return await action(*args, **kwargs)

    run.__beacon_node__ = node
    return run



_created: dict[str, object] = {}


def _counted_create(method):
    @functools.wraps(method)
    async def create(self, job, *args, **kwargs):
        stored, created = await method(self, job, *args, **kwargs)
        if created:  # on POST /generate's hot path: the labelled child is looked up once
            kind = _kind_of(stored)
            counter = _created.get(kind) or _created.setdefault(kind, JOBS_CREATED.labels(kind))
            counter.inc()
        return stored, created

    create.__beacon_instrumented__ = True
    return create


def _counted_transition(method):
    @functools.wraps(method)
    async def transition(self, job_id, status, *args, **kwargs):
        job, changed = await method(self, job_id, status, *args, **kwargs)
        if changed and job is not None:
            kind, state = _kind_of(job), getattr(job.status, "value", str(job.status))
            elapsed = max(0.0, (job.updated_at - job.created_at).total_seconds())
            if state == "processing":
                JOBS_STARTED.labels(kind).inc()
                JOB_QUEUED_SECONDS.labels(kind).observe(elapsed)
            elif state in ("completed", "failed"):
                JOBS_FINISHED.labels(kind, state).inc()
                JOB_SECONDS.labels(kind, state).observe(elapsed)
        return job, changed

    transition.__beacon_instrumented__ = True
    return transition


def _kind_of(job) -> str:
    return getattr(job.kind, "value", str(job.kind))


def instrument_job_store(cls: type) -> None:
    _wrap(cls, "create", _counted_create)
    _wrap(cls, "transition", _counted_transition)
