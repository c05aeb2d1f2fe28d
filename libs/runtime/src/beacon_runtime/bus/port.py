"""The event bus port: topic routing, at-least-once delivery, bounded retries, dead letters."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from beacon_contracts.events import Envelope
from beacon_runtime.errors import DependencyUnavailable

Handler = Callable[[Envelope], Awaitable[None]]


class Reject(Exception):
    """Raised by a handler for a message that can never succeed: dead-letter it at once."""


class RetryLater(Exception):
    """Raised by a handler when something it depends on is down (a store, not the message):
    the bus redelivers the message after a back-off that doubles up to
    `RetryPolicy.max_wait_delay_s`, for as long as the handler keeps raising this, and the
    delivery does not count as an attempt. Never dead-letters (a transient subscription
    drops it, as it drops every failure)."""


class BusUnavailable(DependencyUnavailable):
    """`publish()` could not get the broker's confirm: the broker is unreachable, the
    connection is being re-established, or no confirm came within the publish timeout."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_wait_delay_s: float = 5.0

    def delay_before(self, attempt: int) -> float:
        """Exponential back-off before delivery number `attempt` (2, 3, ...)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 2))

    def wait_delay(self, waits: int) -> float:
        """Back-off after the `waits`-th RetryLater in a row (1, 2, ...): from
        `base_delay_s` (at least 50 ms, so an outage is never a busy loop), doubling, up to
        `max_wait_delay_s`."""
        return min(self.max_wait_delay_s, max(self.base_delay_s, 0.05) * 2 ** max(0, waits - 1))

    def wait_delays(self) -> list[float]:
        """Every distinct value wait_delay() takes (a bounded ladder)."""
        delays, waits = [], 1
        while (delay := self.wait_delay(waits)) not in delays:
            delays.append(delay)
            waits += 1
        return delays


class EventBus(ABC):
    """Every consumer (a service name) gets its own durable queue bound to topic patterns.

    Handlers must be idempotent: a message is acknowledged only after its handler returns,
    so a crash means redelivery. A handler that raises is retried with back-off up to
    `RetryPolicy.max_attempts` deliveries, then the message goes to the consumer's
    dead-letter queue. Two exceptions change that: `Reject` dead-letters at once, and
    `RetryLater` (a dependency is down) redelivers after a bounded back-off without using up
    an attempt, for as long as the outage lasts.
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
        once: bool = True,
    ) -> None:
        """Register before start(). `patterns` use AMQP topic syntax (`*`, `#`).

        A bus built with a processed-events ledger (`bus/once.py`) runs a durable
        subscription's handler effectively once per event id and also binds it to
        `job.cancelled` (recorded, never passed to the handler); `once=False` opts out, for
        handlers idempotent by construction (the gateway's monotonic job transitions).

        `transient=True` is for per-process signals (e.g. cancellations every replica must
        see; give each process its own consumer name): the subscription receives only what
        is published while it runs (nothing is kept while it is stopped), and a failure of
        its handler, `RetryLater` included, is logged and dropped: never retried, never
        dead-lettered."""

    @abstractmethod
    async def publish(self, envelope: Envelope) -> None:
        """Returns once the broker has accepted the message (publisher confirm). Raises
        `BusUnavailable` at once when the broker is known to be down, and after the
        adapter's publish timeout (2 s by default) when no confirm comes."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def dead_letters(self, consumer: str) -> list[Envelope]:
        """Messages that exhausted their retries, oldest first (for operators and tests)."""

    async def ping(self) -> bool:
        """Whether a publish can succeed now (readiness): never raises, bounded in time."""
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
