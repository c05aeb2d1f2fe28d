"""OpenAIEmbedder against a real HTTP server started by the test (not a mock of the client):
an OpenAI-compatible POST /v1/embeddings on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from beacon_runtime.embeddings.openai_compat import OpenAIEmbedder
from beacon_runtime.errors import DependencyUnavailable


class EmbeddingServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.fail_with: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.auth.append(self.headers.get("Authorization"))
                if self.path != "/v1/embeddings":
                    return self._reply(404, {"error": {"message": "not found"}})
                if server.fail_with:
                    return self._reply(server.fail_with, {"error": {"message": "nope"}})
                dim = body.get("dimensions", 3)
                data = [{"object": "embedding", "index": i,
                         "embedding": [float(len(text))] + [float(i)] * (dim - 1)}
                        for i, text in enumerate(body["input"])]
                data.reverse()  # servers may answer out of order: the index says which is which
                self._reply(200, {"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": 1, "total_tokens": 1}})

            def _reply(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    s = EmbeddingServer()
    yield s
    s.stop()


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
        assert server.auth[0] == "Bearer sk-test"
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
        server.fail_with = 503
        with pytest.raises(DependencyUnavailable):
            await embedder.embed_query("x")
        server.fail_with = 400
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
