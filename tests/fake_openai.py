"""A real HTTP server speaking the OpenAI chat-completions protocol: the one every test of an
OpenAI-compatible adapter talks to.

It runs in the test's process (uvicorn in a thread, on a free port, 127.0.0.1) and answers
by model name: "echo" repeats the user message, "report" writes a fenced section, "slow" and
"slow-stream" never finish (a client's timeout is what ends them), "broken" fails with 500,
"no-choices" answers without choices, "gated-<width>-<total>" holds requests to count how many
a client runs at once. A test scripts the rest with a :class:`Script`: the answer computed
from the request, the usage reported (also as a stream's final chunk when the client asks
with `stream_options.include_usage`), the embedding vectors, a status every request fails
with. `/v1/embeddings` answers a deterministic vector per input.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


# The "gated-*" models' state, read by the tests (the server's loop writes it).
GATES: dict[str, dict] = {}


@dataclass
class Script:
    """What a test decides about the server's answers; read per request, so a test may change
    it between calls."""

    answer: Callable[[dict], str] | None = None  # the reply text, from the request body
    usage: dict | None = None  # reported usage (default: 11 prompt tokens, one per word)
    # (text, index, the `dimensions` asked for or None): one input's vector
    embed: Callable[[str, int, int | None], list[float]] | None = None
    fail_with: int | None = None  # every request answers this status
    headers: list[dict[str, str]] = field(default_factory=list)  # each request's headers, read back


def _fake_openai(calls: list[dict], gates: dict[str, dict], script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await request.json()
        calls.append(body)
        script.headers.append(dict(request.headers))
        model = body["model"]
        if script.fail_with:
            return _error(script.fail_with)
        if model.startswith("gated-"):
            await _pass_gate(gates, model)
        if model == "broken":
            return _error(500)
        if model == "slow":
            await _never()
        if model == "no-choices":
            return _completion(model, choices=[])
        text = script.answer(body) if script.answer else _reply(model, body["messages"][-1]["content"])
        usage = script.usage or {"prompt_tokens": 11, "completion_tokens": len(text.split()),
                                 "total_tokens": 11 + len(text.split())}
        if body.get("stream"):
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            return StreamingResponse(_sse(model, text, usage if wants_usage else None),
                                     media_type="text/event-stream")
        return _completion(
            model,
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            usage=usage,
        )

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        """A deterministic vector per input (from its SHA-256, unless the script embeds),
        `dimensions` long (8 if unset); answered in reverse order, as the protocol allows
        (each item carries its index)."""
        body = await request.json()
        calls.append(body)
        script.headers.append(dict(request.headers))
        if script.fail_with:
            return _error(script.fail_with)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        embed = script.embed or (lambda text, _index, size: _vector(text, size or 8))
        data = [{"object": "embedding", "index": i, "embedding": embed(text, i, body.get("dimensions"))}
                for i, text in enumerate(inputs)]
        return {"object": "list", "model": body["model"], "data": data[::-1],
                "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}}

    return app


def _error(status: int) -> JSONResponse:
    return JSONResponse({"error": {"message": "boom", "type": "server_error"}},
                        status_code=status, headers={"retry-after-ms": "10"})


async def _never() -> None:
    """A model that does not answer: the client's timeout ends the call, never a race
    between two durations (server shutdown cancels the wait)."""
    await asyncio.Event().wait()


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest() * (dims // 32 + 1)
    raw = [byte - 127.5 for byte in digest[:dims]]
    norm = sum(x * x for x in raw) ** 0.5
    return [x / norm for x in raw]


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


def _chunk(model: str, **fields) -> str:
    chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
             "model": model, **fields}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


async def _sse(model: str, text: str, usage: dict | None):
    for i, word in enumerate(text.split(" ")):
        piece = word if i == 0 else " " + word
        yield _chunk(model, choices=[{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        if model == "slow-stream" and i == 0:
            await _never()
    if usage is not None:  # the protocol's last chunk: no choices, the call's usage
        yield _chunk(model, choices=[], usage=usage)
    yield "data: [DONE]\n\n"


@contextmanager
def fake_openai_server(script: Script | None = None) -> Iterator[tuple[str, list[dict]]]:
    """(base URL, the request bodies it received) while the server runs."""
    calls: list[dict] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _fake_openai(calls, GATES, script or Script()), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
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
