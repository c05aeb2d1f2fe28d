"""The event bus port: topic routing, at-least-once delivery, bounded retries, dead letters."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from beacon_contracts.events import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class Reject(Exception):
    """Raised by a handler for a message that can never succeed: dead-letter it at once."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay_before(self, attempt: int) -> float:
        """Exponential back-off before delivery number `attempt` (2, 3, ...)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 2))


class EventBus(ABC):
    """Every consumer (a service name) gets its own durable queue bound to topic patterns.

    Handlers must be idempotent: a message is acknowledged only after its handler returns,
    so a crash means redelivery. A handler that raises is retried with back-off up to
    `RetryPolicy.max_attempts` deliveries, then the message goes to the consumer's
    dead-letter queue.
    """

    @abstractmethod
    def subscribe(
        self,
        consumer: str,
        patterns: Sequence[str],
        handler: Handler,
        *,
        concurrency: int = 1,
        transient: bool = False,
    ) -> None:
        """Register before start(). `patterns` use AMQP topic syntax (`*`, `#`).

        `transient=True` is for per-process signals (e.g. cancellations every replica must
        see): the queue lives only as long as its consumer, failures are not retried."""

    @abstractmethod
    async def publish(self, envelope: Envelope) -> None:
        """Returns once the broker has accepted the message (publisher confirm)."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def dead_letters(self, consumer: str) -> list[Envelope]:
        """Messages that exhausted their retries, oldest first (for operators and tests)."""

    async def ping(self) -> bool:
        return True


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic semantics: `*` is exactly one word, `#` is zero or more words."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])
