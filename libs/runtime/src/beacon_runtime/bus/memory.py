"""In-process twin of the RabbitMQ bus, used by embedded mode and fast tests.

It keeps the same promises as the broker within one process: every matching consumer gets
its own copy, a failing handler is retried with back-off, `RetryLater` waits without using
an attempt, exhausted messages are kept as dead letters, and a transient subscription gets
only what is published while it runs and never retries. It is not durable across process
restarts; embedded mode is one process.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate

from beacon_contracts.events import Envelope
from beacon_contracts.routing import JOB_CANCELLED, routing_key
from beacon_runtime.bus.job_failures import failure_of_dead_letter
from beacon_runtime.bus.once import OncePolicy, ProcessedEvents, guard
from beacon_runtime.bus.port import (
    EventBus,
    Handler,
    Reject,
    RetryLater,
    RetryPolicy,
    topic_matches,
)
from beacon_runtime.logs import get_logger
from beacon_runtime.metrics import observe_handler

log = get_logger(__name__)


@dataclass
class _Subscription:
    consumer: str
    patterns: tuple[str, ...]
    handler: Handler
    concurrency: int
    transient: bool = False
    bindings: tuple[str, ...] = ()  # patterns, plus job.cancelled when guarded
    # (envelope, attempt, RetryLater redeliveries in a row, trace carrier)
    queue: asyncio.Queue[tuple[Envelope, int, int, dict]] = field(default_factory=asyncio.Queue)
    workers: list[asyncio.Task] = field(default_factory=list)


class InMemoryBus(EventBus):
    def __init__(
        self,
        retry: RetryPolicy | None = None,
        *,
        ledger: ProcessedEvents | None = None,
        once: OncePolicy | None = None,
    ) -> None:
        self._retry = retry or RetryPolicy()
        # With a ledger every durable subscription (unless once=False) is effectively once.
        self._ledger = ledger
        self._once = once or OncePolicy()
        self._subscriptions: list[_Subscription] = []
        self._dead: dict[str, list[Envelope]] = defaultdict(list)
        self._pending = 0  # messages queued, in flight or waiting for a retry
        self._idle = asyncio.Event()
        self._idle.set()
        self._running = False

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
        if self._running:
            raise RuntimeError("subscribe before start()")
        bindings = tuple(patterns)
        if self._ledger is not None and once and not transient:
            handler = guard(consumer, handler, self._ledger, self._once, self.publish)
            bindings += (JOB_CANCELLED,)
        self._subscriptions.append(
            _Subscription(consumer, tuple(patterns), handler, concurrency, transient, bindings)
        )

    async def publish(self, envelope: Envelope) -> None:
        self._route(envelope)

    def _route(self, envelope: Envelope, key: str | None = None) -> None:
        """Deliver to every matching subscription; `key` overrides the routing key (tests
        put a message of a type no publisher knows on a key, as a raw AMQP publish can)."""
        key = key or routing_key(envelope)
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # the trace continues in the handler, as over RabbitMQ
        for sub in self._subscriptions:
            if sub.transient and not self._running:
                continue  # a transient queue exists only while its consumer runs
            if any(topic_matches(p, key) for p in sub.bindings):
                self._enqueue(sub, envelope, 1, 0, carrier)

    async def start(self) -> None:
        self._running = True
        for sub in self._subscriptions:
            sub.workers = [
                asyncio.create_task(self._work(sub), name=f"bus:{sub.consumer}:{i}")
                for i in range(sub.concurrency)
            ]

    async def stop(self) -> None:
        self._running = False
        if self._ledger is not None:
            await self._ledger.close()
        for sub in self._subscriptions:
            for task in sub.workers:
                task.cancel()
            await asyncio.gather(*sub.workers, return_exceptions=True)
            sub.workers = []
            if sub.transient:  # its queue is gone with its consumer
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                    self._settle()

    async def dead_letters(self, consumer: str) -> list[Envelope]:
        return list(self._dead[consumer])

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every published message was handled or dead-lettered (tests, shutdown)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _enqueue(
        self, sub: _Subscription, envelope: Envelope, attempt: int, waits: int, carrier: dict
    ) -> None:
        self._pending += 1
        self._idle.clear()
        sub.queue.put_nowait((envelope, attempt, waits, carrier))

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    async def _work(self, sub: _Subscription) -> None:
        while True:
            envelope, attempt, waits, carrier = await sub.queue.get()
            started = time.perf_counter()
            outcome = "ok"
            token = otel_context.attach(propagate.extract(carrier))
            try:
                with structlog.contextvars.bound_contextvars(**_log_fields(envelope)):
                    await sub.handler(envelope)
            except asyncio.CancelledError:
                # Shutdown mid-handler: the message was not acknowledged, as with a broker.
                self._settle()
                raise
            except Reject as exc:
                outcome = "dead_letter"
                self._dead_letter(sub, envelope, attempt, exc)
            except RetryLater as exc:
                outcome = "wait"
                self._later(sub, envelope, attempt, waits + 1, carrier, exc)
            except Exception as exc:  # noqa: BLE001 - any handler failure means retry
                if attempt >= self._retry.max_attempts or sub.transient:
                    outcome = "dead_letter"
                    self._dead_letter(sub, envelope, attempt, exc)
                else:
                    outcome = "retry"
                    self._later(sub, envelope, attempt + 1, 0, carrier, exc)
            finally:
                otel_context.detach(token)
            observe_handler(sub.consumer, envelope.type, outcome, started)
            self._settle()

    def _later(
        self, sub: _Subscription, envelope: Envelope, attempt: int, waits: int, carrier: dict,
        exc: Exception,
    ) -> None:
        """Redeliver as `attempt` after a back-off (a wait when `waits` > 0)."""
        if sub.transient:
            log.warning("bus.transient_dropped", consumer=sub.consumer, error=repr(exc))
            return
        delay = self._retry.wait_delay(waits) if waits else self._retry.delay_before(attempt)
        log.warning(
            "bus.wait" if waits else "bus.retry",
            consumer=sub.consumer,
            event_type=envelope.type,
            attempt=attempt,
            waits=waits or None,
            delay_s=delay,
            error=repr(exc),
        )
        self._pending += 1  # the scheduled redelivery
        asyncio.get_running_loop().call_later(
            delay, self._redeliver, sub, envelope, attempt, waits, carrier
        )

    def _redeliver(
        self, sub: _Subscription, envelope: Envelope, attempt: int, waits: int, carrier: dict
    ) -> None:
        self._pending -= 1
        if self._running:
            self._enqueue(sub, envelope, attempt, waits, carrier)
        elif self._pending == 0:
            self._idle.set()

    def _dead_letter(self, sub: _Subscription, envelope: Envelope, attempt: int, exc: Exception) -> None:
        if sub.transient:
            log.warning("bus.transient_dropped", consumer=sub.consumer, error=repr(exc))
            return
        log.error(
            "bus.dead_letter",
            consumer=sub.consumer,
            event_type=envelope.type,
            event_id=str(envelope.event_id),
            attempts=attempt,
            error=repr(exc),
        )
        self._dead[sub.consumer].append(envelope)
        reason = "rejected" if isinstance(exc, Reject) else "exhausted"
        if (failure := failure_of_dead_letter(envelope, reason, attempt, exc)) is not None:
            self._route(failure)


def _log_fields(envelope: Envelope) -> dict:
    fields = {"event_type": envelope.type, "event_id": str(envelope.event_id),
              "correlation_id": envelope.correlation_id}
    if isinstance(envelope.payload.get("job_id"), str):
        fields["job_id"] = envelope.payload["job_id"]
    return fields
