"""Embeddings from any OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM, Ollama,
llama.cpp, TEI) through the `openai` client.

Unreachable servers, time-outs, rate limits and 5xx answers raise DependencyUnavailable
(retry later); other 4xx answers raise ValueError (the request itself is wrong).
"""

from __future__ import annotations

from beacon_runtime.embeddings.port import Embedder
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.instrumentation import record_usage


class OpenAIEmbedder(Embedder):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "not-needed",
        model: str = "text-embedding-3-small",
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )
        self._model = model
        self._dimensions = dimensions
        self._batch_size = batch_size
        self.name = f"openai:{model}"
        # Known once the first answer arrived, unless requested explicitly.
        self.dim = dimensions or 0

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._embed(texts[start:start + self._batch_size]))
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        return (await self._embed([text]))[0]

    async def _embed(self, batch: list[str]) -> list[list[float]]:
        import openai

        kwargs = {"dimensions": self._dimensions} if self._dimensions else {}
        try:
            response = await self._client.embeddings.create(
                model=self._model, input=batch, encoding_format="float", **kwargs
            )
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
            raise DependencyUnavailable(f"embeddings: {exc.__class__.__name__}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise DependencyUnavailable(f"embeddings: HTTP {exc.status_code}") from exc
            raise ValueError(f"embeddings request refused: HTTP {exc.status_code}") from exc
        if response.usage:
            record_usage(response.usage.prompt_tokens, None)
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(batch):
            raise DependencyUnavailable(
                f"embeddings: {len(data)} vectors for {len(batch)} inputs"
            )
        vectors = [list(item.embedding) for item in data]
        dims = {len(v) for v in vectors}
        if len(dims) != 1 or (self.dim and dims != {self.dim}):
            raise ValueError(f"embeddings: inconsistent dimensions {sorted(dims)}")
        self.dim = dims.pop()
        return vectors

    async def close(self) -> None:
        await self._client.close()
