"""ChatModel adapter for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
Ollama, LM Studio, ...).

The client retries transient failures itself (`max_retries`); whatever still fails leaves
this module as LLMTimeout or LLMError, so callers never see openai's exception types.

At most `max_concurrency` calls (a stream counts until it ends) are in flight per adapter:
workers hold many jobs at once because they mostly wait on the model, and this is where the
model provider's rate limit is respected (LLM_MAX_CONCURRENCY, per replica). Calls beyond it
wait for a slot; they do not fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import openai

from beacon_runtime.llm.port import ChatModel, Completion, LLMError, LLMTimeout, Prompt


class OpenAIChatModel(ChatModel):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float,
        max_retries: int,
        max_concurrency: int = 32,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.name = f"openai:{model}"
        self._model = model
        self._slots = asyncio.Semaphore(max_concurrency)
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )

    async def complete(self, prompt: Prompt) -> Completion:
        try:
            async with self._slots:
                response = await self._client.chat.completions.create(**self._request(prompt))
        except openai.APITimeoutError as exc:
            raise LLMTimeout(f"{self.name} timed out") from exc
        except openai.APIError as exc:
            raise LLMError(f"{self.name} failed: {exc}") from exc
        if not response.choices:
            raise LLMError(f"{self.name} answered without choices")
        text = response.choices[0].message.content
        if text is None:
            raise LLMError(f"{self.name} answered without text content")
        usage = response.usage
        return Completion(
            text=text,
            model=response.model or self._model,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    async def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        try:
            async with self._slots:
                chunks = await self._client.chat.completions.create(
                    **self._request(prompt), stream=True
                )
                async with chunks:
                    async for chunk in chunks:
                        for choice in chunk.choices:
                            if choice.index == 0 and choice.delta and choice.delta.content:
                                yield choice.delta.content
        except openai.APITimeoutError as exc:
            raise LLMTimeout(f"{self.name} timed out while streaming") from exc
        except openai.APIError as exc:
            raise LLMError(f"{self.name} failed while streaming: {exc}") from exc

    async def close(self) -> None:
        await self._client.close()

    def _request(self, prompt: Prompt) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "temperature": prompt.temperature,
        }
        # `max_tokens` rather than `max_completion_tokens`: compatible servers know only it.
        if prompt.max_tokens is not None:
            request["max_tokens"] = prompt.max_tokens
        return request
