"""The LLM port. A prompt carries both the text a real model reads and the structured task
the offline adapters work from, so both kinds of adapter take the same input."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from beacon_runtime.instrumentation import instrument_chat_model


class LLMError(Exception):
    """The model endpoint failed or answered with something unusable."""


class LLMTimeout(LLMError):
    """The model endpoint did not answer within the configured timeout."""


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    task: dict[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None
    temperature: float = 0.2


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class ChatModel(ABC):
    name: str

    def __init_subclass__(cls, **kwargs) -> None:
        # Every adapter's calls are traced and counted: beacon_runtime.instrumentation.
        super().__init_subclass__(**kwargs)
        instrument_chat_model(cls)

    @abstractmethod
    async def complete(self, prompt: Prompt) -> Completion: ...

    @abstractmethod
    def stream(self, prompt: Prompt) -> AsyncIterator[str]:
        """Yield text pieces as the model produces them."""

    async def close(self) -> None:
        return None
