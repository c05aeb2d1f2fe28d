"""OpenAIChatModel against a real HTTP server speaking the chat-completions protocol.

The server runs in this process (uvicorn in a thread, on a free port) and answers by model
name: "echo" repeats the user message, "report" writes a fenced section, "slow" and
"slow-stream" stall, "broken" fails with 500, "no-choices" answers without choices.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from beacon_report_writer.graph import build_graph
from beacon_report_writer.repository import InMemorySessionDrafts
from beacon_runtime.llm.openai_compat import OpenAIChatModel
from beacon_runtime.llm.port import LLMError, LLMTimeout, Prompt


# The "gated-*" models' state, read by the tests (the server's loop writes it).
GATES: dict[str, dict] = {}
PROMPT = Prompt(system="You are terse.", user="Say hello to the integration test.")


def _fake_openai(calls: list[dict], gates: dict[str, dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await request.json()
        calls.append(body)
        model = body["model"]
        if model.startswith("gated-"):
            await _pass_gate(gates, model)
        if model == "broken":
            return JSONResponse(
                {"error": {"message": "boom", "type": "server_error"}},
                status_code=500,
                headers={"retry-after-ms": "10"},
            )
        if model == "slow":
            await asyncio.sleep(2)
        if model == "no-choices":
            return _completion(model, choices=[])
        text = _reply(model, body["messages"][-1]["content"])
        if body.get("stream"):
            return StreamingResponse(_sse(model, text), media_type="text/event-stream")
        return _completion(
            model,
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            usage={
                "prompt_tokens": 11,
                "completion_tokens": len(text.split()),
                "total_tokens": 11 + len(text.split()),
            },
        )

    return app


async def _pass_gate(gates: dict[str, dict], model: str) -> None:
    """Model "gated-<width>-<total>": hold each request until <width> are in flight at once
    (or all <total> arrived), and record the most seen in flight. So the peak shows how many
    calls a client lets run together, without any timing."""
    _, width, total = model.split("-")
    gate = gates.setdefault(model, {"in_flight": 0, "peak": 0, "seen": 0, "open": asyncio.Event()})
    gate["in_flight"] += 1
    gate["seen"] += 1
    gate["peak"] = max(gate["peak"], gate["in_flight"])
    if gate["in_flight"] >= int(width) or gate["seen"] == int(total):
        gate["open"].set()
    try:
        await gate["open"].wait()
    finally:
        gate["in_flight"] -= 1
        if gate["in_flight"] == 0:
            gate["open"] = asyncio.Event()


def _reply(model: str, user: str) -> str:
    if model != "report":
        return f"Hello from {model}: {user}"
    fields = dict(line.split(": ", 1) for line in user.splitlines() if ": " in line)
    return (
        "```markdown\n"
        f"# {fields['Section'].upper()}\n\n"
        f"Drafted by the fake model for {fields['Customer']} ({fields['Opportunity']}).\n"
        "```"
    )


def _completion(model: str, *, choices: list, usage: dict | None = None) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": choices,
        "usage": usage,
    }


async def _sse(model: str, text: str):
    for i, word in enumerate(text.split(" ")):
        piece = word if i == 0 else " " + word
        chunk = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        yield f"data: {json.dumps(chunk)}\n\n"
        if model == "slow-stream" and i == 0:
            await asyncio.sleep(2)
    yield "data: [DONE]\n\n"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict]]]:
    calls: list[dict] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _fake_openai(calls, GATES), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    uv_server = uvicorn.Server(config)
    thread = threading.Thread(target=uv_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv_server.started:
        assert time.monotonic() < deadline, "fake OpenAI server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", calls
    uv_server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _model(
    base_url: str, model: str, *, timeout_s: float = 5, retries: int = 0, max_concurrency: int = 32
):
    return OpenAIChatModel(
        base_url=base_url,
        api_key="test-key",
        model=model,
        timeout_s=timeout_s,
        max_retries=retries,
        max_concurrency=max_concurrency,
    )


async def test_calls_beyond_max_concurrency_wait_for_a_slot(server):
    base_url, _ = server
    model = _model(base_url, "gated-3-10", max_concurrency=3)
    try:
        completions = await asyncio.gather(*(model.complete(PROMPT) for _ in range(10)))
    finally:
        await model.close()
    assert len(completions) == 10
    # The server held requests until three were in flight together, and never saw a fourth.
    assert GATES["gated-3-10"]["peak"] == 3
    assert GATES["gated-3-10"]["seen"] == 10


async def test_streams_hold_a_slot_until_they_end(server):
    base_url, _ = server
    model = _model(base_url, "gated-2-5", max_concurrency=2)

    async def read() -> str:
        return "".join([piece async for piece in model.stream(PROMPT)])

    try:
        answers = await asyncio.gather(*(read() for _ in range(5)))
    finally:
        await model.close()
    assert all(answer.startswith("Hello from gated-2-5") for answer in answers)
    assert GATES["gated-2-5"]["peak"] == 2


async def test_without_a_tight_limit_every_call_is_in_flight_at_once(server):
    base_url, _ = server
    model = _model(base_url, "gated-8-8", max_concurrency=32)
    try:
        await asyncio.gather(*(model.complete(PROMPT) for _ in range(8)))
    finally:
        await model.close()
    assert GATES["gated-8-8"]["peak"] == 8


async def test_complete_returns_text_and_token_usage(server):
    base_url, calls = server
    model = _model(base_url, "echo")
    try:
        completion = await model.complete(PROMPT)
    finally:
        await model.close()
    assert completion.text == "Hello from echo: Say hello to the integration test."
    assert completion.model == "echo"
    assert (completion.input_tokens, completion.output_tokens) == (11, 9)
    assert model.name == "openai:echo"
    sent = calls[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello to the integration test."},
    ]
    assert sent["temperature"] == PROMPT.temperature
    assert "max_tokens" not in sent


async def test_stream_yields_pieces_in_order(server):
    base_url, _ = server
    model = _model(base_url, "echo")
    try:
        pieces = [piece async for piece in model.stream(PROMPT)]
    finally:
        await model.close()
    assert pieces[:3] == ["Hello", " from", " echo:"]
    assert "".join(pieces) == "Hello from echo: Say hello to the integration test."


async def test_slow_answer_raises_llm_timeout(server):
    base_url, _ = server
    model = _model(base_url, "slow", timeout_s=0.3)
    try:
        with pytest.raises(LLMTimeout):
            await model.complete(PROMPT)
    finally:
        await model.close()


async def test_stalled_stream_raises_llm_timeout(server):
    base_url, _ = server
    model = _model(base_url, "slow-stream", timeout_s=0.3)
    try:
        with pytest.raises(LLMTimeout):
            async for _ in model.stream(PROMPT):
                pass
    finally:
        await model.close()


async def test_server_error_raises_llm_error_after_client_retries(server):
    base_url, calls = server
    for retries in (0, 1):
        before = len(calls)
        model = _model(base_url, "broken", retries=retries)
        try:
            with pytest.raises(LLMError) as caught:
                await model.complete(PROMPT)
        finally:
            await model.close()
        assert not isinstance(caught.value, LLMTimeout)
        assert len(calls) - before == retries + 1


async def test_answer_without_choices_raises_llm_error(server):
    base_url, _ = server
    model = _model(base_url, "no-choices")
    try:
        with pytest.raises(LLMError):
            await model.complete(PROMPT)
    finally:
        await model.close()


async def test_report_graph_drafts_a_section_through_the_server(server):
    base_url, calls = server
    model = _model(base_url, "report")
    graph = build_graph(model, InMemorySessionDrafts())
    try:
        state = await graph.ainvoke(
            {
                "kind": "generate",
                "params": {
                    "session_id": "s-int",
                    "type": "Technical_scope",
                    "customer_id": "ACME",
                    "opportunity_id": "OPP-7",
                    "section_title": "security and compliance",
                },
            }
        )
    finally:
        await model.close()
    assert "error" not in state
    markdown = base64.b64decode(state["result"]["generated_section_b64"]).decode()
    # The fence is gone and the model's heading became the canonical one.
    assert markdown == ("## Security & Compliance\n\nDrafted by the fake model for ACME (OPP-7).\n")
    assert state["result"]["section_title"] == "Security & Compliance"
    user = calls[-1]["messages"][-1]["content"]
    assert "Identity and access" in user  # the section guidance reached the model
