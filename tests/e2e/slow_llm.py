"""A slow OpenAI-compatible chat-completions server, run as its own process by the e2e tests:

    python tests/e2e/slow_llm.py    # PORT, SLOW_LLM_DELAY_S or SLOW_LLM_HOLD=1 from the environment

POST /v1/chat/completions counts the request, then waits: with SLOW_LLM_HOLD=1 until a test
sends POST /release (so a job stays in flight for exactly as long as the test needs, on any
machine), else SLOW_LLM_DELAY_S seconds (the fault scenarios' model, which measures rather
than asserts a moment). It answers a real chat-completion JSON whose text names the
request's number: "Slow model reply 2." is the second request this server got.
GET /requests reports how many arrived and how many were answered.
"""

from __future__ import annotations

import asyncio
import os
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DELAY_S = float(os.environ.get("SLOW_LLM_DELAY_S", "3"))
HOLD = os.environ.get("SLOW_LLM_HOLD") == "1"
state = {"received": 0, "answered": 0, "users": []}
released = asyncio.Event()


async def chat_completions(request: Request) -> JSONResponse:
    body = await request.json()
    state["received"] += 1
    number = state["received"]
    user = next((m["content"] for m in body.get("messages", []) if m["role"] == "user"), "")
    state["users"].append(user)
    if HOLD:
        await released.wait()
    else:
        await asyncio.sleep(DELAY_S)
    text = f"## Executive Summary\n\nSlow model reply {number}.\n"
    state["answered"] += 1
    return JSONResponse(
        {
            "id": f"chatcmpl-slow-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "slow-test-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18},
        }
    )


async def release(_request: Request) -> JSONResponse:
    """Every held request, and every later one, answers."""
    released.set()
    return JSONResponse({"released": True})


async def requests_seen(_request: Request) -> JSONResponse:
    return JSONResponse(state)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/release", release, methods=["POST"]),
        Route("/requests", requests_seen),
        Route("/healthz", healthz),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
