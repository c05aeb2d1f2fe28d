"""An OpenAI-compatible streaming server whose every token carries the time it was sent:

    PORT=9000 TOKENS=60 INTERVAL_MS=15 python bench/timestamp_llm.py

Each streamed delta is ` ⟨<time.time_ns()>⟩`, so a client downstream can compute how long a
token took from leaving the model to reaching it (same machine, same clock).
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

TOKENS = int(os.environ.get("TOKENS", "60"))
INTERVAL_S = float(os.environ.get("INTERVAL_MS", "15")) / 1000


def _chunk(content: str | None, finish: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    body = {"id": "bench", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": "timestamp", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n"


async def chat_completions(request: Request):
    body = await request.json()
    if not body.get("stream"):
        text = " ".join(f"⟨{time.time_ns()}⟩" for _ in range(3))
        return JSONResponse({"id": "bench", "object": "chat.completion", "created": int(time.time()),
                             "model": "timestamp",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}})

    async def stream():
        for _ in range(TOKENS):
            yield _chunk(f" ⟨{time.time_ns()}⟩")
            await asyncio.sleep(INTERVAL_S)
        yield _chunk(None, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
