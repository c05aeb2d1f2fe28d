"""Token usage of real OpenAI-protocol calls reaches the model span and
beacon_model_tokens_total: from a completion's `usage`, and from a stream's final usage chunk
(asked for with `stream_options.include_usage`). The server is a real HTTP server in this
process speaking the chat-completions protocol (tests/fake_openai.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import Script, fake_openai_server
from prometheus_client import REGISTRY
from spantools import capture_spans

from beacon_runtime.llm.openai_compat import OpenAIChatModel
from beacon_runtime.llm.port import Prompt

PROMPT = Prompt(system="s", user="count to three")
USAGE = {"prompt_tokens": 13, "completion_tokens": 3, "total_tokens": 16}


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict]]]:
    with fake_openai_server(Script(answer=lambda _body: "one two three", usage=USAGE)) as running:
        yield running


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
