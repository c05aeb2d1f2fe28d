"""OpenAIEmbedder against a real HTTP server started by the test (not a mock of the client):
an OpenAI-compatible POST /v1/embeddings on 127.0.0.1 (tests/fake_openai.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from beacon_runtime.embeddings.openai_compat import OpenAIEmbedder
from beacon_runtime.errors import DependencyUnavailable
from fake_openai import Script, fake_openai_server


def _by_length(text: str, index: int, dimensions: int | None) -> list[float]:
    """The input's length first, so a test sees which vector belongs to which input."""
    return [float(len(text))] + [float(index)] * ((dimensions or 3) - 1)


@dataclass
class EmbeddingServer:
    url: str
    requests: list[dict]
    script: Script
    stop: Callable[[], None]


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    script = Script(embed=_by_length)
    with ExitStack() as running:
        url, requests = running.enter_context(fake_openai_server(script))
        yield EmbeddingServer(url, requests, script, running.close)


async def test_batches_keep_input_order_and_learn_dimension(server):
    embedder = OpenAIEmbedder(base_url=server.url, api_key="sk-test", model="embed-small",
                              batch_size=2, max_retries=0)
    try:
        assert embedder.dim == 0
        vectors = await embedder.embed_documents(["a", "bb", "ccc", "dddd", "eeeee"])
        assert [v[0] for v in vectors] == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert embedder.dim == 3 and embedder.name == "openai:embed-small"
        assert [len(r["input"]) for r in server.requests] == [2, 2, 1]
        assert server.requests[0]["model"] == "embed-small"
        assert server.script.headers[0]["authorization"] == "Bearer sk-test"
        assert (await embedder.embed_query("xyz"))[0] == 3.0
    finally:
        await embedder.close()


async def test_requested_dimensions_are_sent(server):
    embedder = OpenAIEmbedder(base_url=server.url, dimensions=5, max_retries=0)
    try:
        assert embedder.dim == 5
        assert len(await embedder.embed_query("hello")) == 5
        assert server.requests[0]["dimensions"] == 5
    finally:
        await embedder.close()


async def test_server_errors_are_unavailable_and_client_errors_are_not(server):
    embedder = OpenAIEmbedder(base_url=server.url, max_retries=0)
    try:
        server.script.fail_with = 503
        with pytest.raises(DependencyUnavailable):
            await embedder.embed_query("x")
        server.script.fail_with = 400
        with pytest.raises(ValueError):
            await embedder.embed_query("x")
    finally:
        await embedder.close()


async def test_unreachable_server_is_unavailable(server):
    url = server.url
    server.stop()
    embedder = OpenAIEmbedder(base_url=url, max_retries=0, timeout_s=2)
    try:
        with pytest.raises(DependencyUnavailable):
            await embedder.embed_query("x")
    finally:
        await embedder.close()
