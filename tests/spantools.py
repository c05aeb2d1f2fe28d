"""Spans a test can read: the process-wide tracer provider (OpenTelemetry allows one per
process; an SDK one with its default sampler, as tests/integration/test_rabbit_bus.py also
installs) gets one in-memory exporter, which keeps spans only while a test captures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class _Capture(SpanExporter):
    def __init__(self) -> None:
        self.into: list[ReadableSpan] | None = None  # the capturing test's list

    def export(self, spans) -> SpanExportResult:
        if self.into is not None:
            self.into.extend(spans)
        return SpanExportResult.SUCCESS


_capture: _Capture | None = None


class Captured:
    """The spans that ended while the test captured (still readable afterwards)."""

    def __init__(self) -> None:
        self._spans: list[ReadableSpan] = []

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self._spans)

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self._spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, (name, [s.name for s in self._spans])
        return found[0]


@contextmanager
def capture_spans() -> Iterator[Captured]:
    global _capture
    if _capture is None:
        _capture = _Capture()
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(_capture))
    captured = Captured()
    _capture.into = captured._spans
    try:
        yield captured
    finally:
        _capture.into = None
