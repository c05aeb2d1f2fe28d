"""Token usage of real OpenAI-protocol calls reaches the model span and
beacon_model_tokens_total: from a completion's `usage`, and from a stream's final usage chunk
(asked for with `stream_options.include_usage`). The server is a real HTTP server in this
process (uvicorn in a thread) speaking the chat-completions protocol."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import REGISTRY
from spantools import capture_spans

from beacon_runtime.llm.openai_compat import OpenAIChatModel
from beacon_runtime.llm.port import Prompt

PROMPT = Prompt(system="s", user="count to three")
USAGE = {"prompt_tokens": 13, "completion_tokens": 3, "total_tokens": 16}


def _app(calls: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        calls.append(body)
        if not body.get("stream"):
            return JSONResponse({"id": "c1", "object": "chat.completion", "created": 0,
                                 "model": body["model"], "usage": USAGE, "choices": [
                                     {"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": "one two three"}}]})

        async def events():
            for word in ("one ", "two ", "three"):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                         "model": body["model"], "choices": [
                             {"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            if (body.get("stream_options") or {}).get("include_usage"):
                last = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                        "model": body["model"], "choices": [], "usage": USAGE}
                yield f"data: {json.dumps(last)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict]]]:
    calls: list[dict] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(_app(calls), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", calls
    srv.should_exit = True
    thread.join(5)


def tokens(model: str, kind: str) -> float:
    return REGISTRY.get_sample_value("beacon_model_tokens_total",
                                     {"operation": "chat", "model": model, "type": kind}) or 0.0


def model(base_url: str, name: str, **kwargs) -> OpenAIChatModel:
    return OpenAIChatModel(base_url=base_url, api_key="k", model=name, timeout_s=10,
                           max_retries=0, **kwargs)


async def test_a_completion_reports_its_usage(server):
    base_url, _ = server
    with capture_spans() as spans:
        completion = await model(base_url, "usage-complete").complete(PROMPT)
    assert completion.input_tokens == 13
    span = spans.one("chat usage-complete")
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.usage.input_tokens"] == 13
    assert span.attributes["gen_ai.usage.output_tokens"] == 3


async def test_a_stream_asks_for_usage_and_reports_it(server):
    base_url, calls = server
    before = tokens("usage-stream", "input"), tokens("usage-stream", "output")
    with capture_spans() as spans:
        text = "".join([piece async for piece in model(base_url, "usage-stream").stream(PROMPT)])
    assert text == "one two three"
    assert calls[-1]["stream_options"] == {"include_usage": True}
    span = spans.one("chat usage-stream")
    assert span.attributes["gen_ai.usage.input_tokens"] == 13
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert (tokens("usage-stream", "input"), tokens("usage-stream", "output")) == (
        before[0] + 13, before[1] + 3)


async def test_without_stream_usage_the_option_is_not_sent(server):
    base_url, calls = server
    with capture_spans() as spans:
        text = "".join([p async for p in model(base_url, "no-usage", stream_usage=False).stream(PROMPT)])
    assert text == "one two three"
    assert "stream_options" not in calls[-1]
    assert "gen_ai.usage.output_tokens" not in spans.one("chat no-usage").attributes
