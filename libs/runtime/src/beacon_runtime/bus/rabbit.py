"""RabbitMQ adapter of the event bus, on aio-pika (topology: ``bus/topology.py``).

Publishing. Every envelope goes to the topic exchange, persistent, on a channel with
publisher confirms; ``publish()`` returns once the broker confirmed. A ``JobRequested`` is
published ``mandatory``: a command no queue takes raises ``PublishError`` instead of being
dropped. Fail fast: while the connection is down (aio-pika's robust connection is
reconnecting) ``publish()`` raises :class:`BusUnavailable` at once, and a confirm that does
not come within ``publish_timeout_s`` (a broker that stopped answering) raises it too.

Consuming. Each subscription has its own channel with ``basic.qos(prefetch)`` (at least its
``concurrency``) and a semaphore of ``concurrency`` handlers, and acks a message only after
its handler returned. When a handler raises, the message is republished (same body and
headers, next ``x-beacon-attempt``) to the delay queue of ``retry.delay_before(attempt + 1)``,
and the original is acked once that copy is confirmed. After ``max_attempts`` deliveries, at
once for :class:`Reject` and for a body that is not an :class:`Envelope`, it is republished
to the DLQ with ``x-beacon-dead-reason`` / ``x-beacon-error`` headers. :class:`RetryLater` (a
dependency is down) republishes to the delay queue of ``retry.wait_delay(n)`` with the same
attempt number, for as long as it lasts. If a republish fails the original is nacked
(requeued for a retry or a wait; dead-lettered by the broker's DLX for a dead letter), so
nothing is lost or looped for ever. A crash mid-handler (no ack) gives a plain broker
redelivery with the same attempt number; ``x-delivery-limit`` bounds crash loops.

Connection loss: the robust connection reconnects (every 5 s, or ``?reconnect_interval=``
in the URL) and restores channels, QoS, queues, bindings and consumers. Handlers running
when it drops are cancelled by aio-pika (their ack could not succeed) and the broker
redelivers their messages. ``stop()`` cancels the consumers, gives running handlers
``stop_timeout_s`` and then cancels them; their messages, unacknowledged, are redelivered.

Trace context travels in W3C ``traceparent`` headers (OpenTelemetry propagation).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    DeliveryMode,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, PublishError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import ValidationError

from beacon_contracts.events import Envelope
from beacon_contracts.routing import JOB_CANCELLED, routing_key
from beacon_runtime.bus import dead_letters as dlq
from beacon_runtime.bus.job_failures import failure_of_dead_letter
from beacon_runtime.bus.once import OncePolicy, ProcessedEvents, guard
from beacon_runtime.bus.port import (
    BusUnavailable,
    EventBus,
    Handler,
    Reject,
    RetryLater,
    RetryPolicy,
)
from beacon_runtime.bus.topology import (
    ATTEMPT_HEADER,
    CONSUMER_HEADER,
    DROPPED_ON_REPUBLISH,
    ERROR_HEADER,
    REASON_HEADER,
    TRANSIENT_QUEUE_EXPIRES_MS,
    WAITS_HEADER,
    Topology,
    delays_ms,
    to_ms,
)
from beacon_runtime.logs import get_logger
from beacon_runtime.metrics import observe_handler

__all__ = [
    "ATTEMPT_HEADER", "CONSUMER_HEADER", "ERROR_HEADER", "REASON_HEADER", "WAITS_HEADER",
    "BusUnavailable", "RabbitBus",
]

log = get_logger(__name__)
tracer = trace.get_tracer("beacon_runtime.bus.rabbit")


@dataclass
class _Subscription:
    consumer: str
    patterns: tuple[str, ...]
    handler: Handler
    concurrency: int
    transient: bool
    semaphore: asyncio.Semaphore
    bindings: tuple[str, ...] = ()  # patterns, plus job.cancelled when guarded
    queue: AbstractQueue | None = None
    consumer_tag: str | None = None
    tasks: set[asyncio.Task] = field(default_factory=set)


class RabbitBus(EventBus):
    def __init__(
        self,
        url: str,
        *,
        retry: RetryPolicy | None = None,
        prefetch: int = 8,
        namespace: str = "beacon",
        declare: Mapping[str, Sequence[str]] | None = None,
        publish_timeout_s: float = 2.0,
        connect_timeout_s: float = 10.0,
        stop_timeout_s: float = 10.0,
        ledger: ProcessedEvents | None = None,
        once: OncePolicy | None = None,
    ) -> None:
        self._url = url
        self._retry = retry or RetryPolicy()
        self._prefetch = max(1, prefetch)
        self.topology = Topology(namespace)
        # Durable queues to create at start even without a local consumer (command queues).
        self._declare = dict(declare or {})
        self._publish_timeout = publish_timeout_s
        self._connect_timeout = connect_timeout_s
        self._stop_timeout = stop_timeout_s
        self._subscriptions: dict[str, _Subscription] = {}
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None  # publishing, with confirms
        self._exchange: AbstractExchange | None = None
        self._stopping = False
        # With a ledger every durable subscription (unless once=False) is effectively once,
        # and every durable queue, declared or consumed, also hears job.cancelled.
        self._ledger = ledger
        self._once = once or OncePolicy()

    @property
    def publish_timeout_s(self) -> float:
        return self._publish_timeout

    # Names, for tests and operators.
    @property
    def exchange_name(self) -> str:
        return self.topology.exchange

    def queue_name(self, consumer: str) -> str:
        return self.topology.queue(consumer)

    def dlq_name(self, consumer: str) -> str:
        return self.topology.dlq(consumer)

    # -- port --------------------------------------------------------------------------

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
        if self._connection is not None:
            raise RuntimeError("subscribe before start()")
        if consumer in self._subscriptions:
            # Two handlers on one queue would each get a random share of the messages.
            raise ValueError(f"consumer {consumer!r} already subscribed; use concurrency=")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        bindings = tuple(patterns)
        if self._ledger is not None and once and not transient:
            handler = guard(consumer, handler, self._ledger, self._once, self.publish)
            bindings += (JOB_CANCELLED,)
        self._subscriptions[consumer] = _Subscription(
            consumer, tuple(patterns), handler, concurrency, transient,
            asyncio.Semaphore(concurrency), bindings,
        )

    async def start(self) -> None:
        if self._connection is not None:
            return
        self._stopping = False
        name = f"{self.topology.namespace}:{','.join(self._subscriptions) or 'publisher'}"
        try:
            connection = await aio_pika.connect_robust(
                self._url, timeout=self._connect_timeout,
                client_properties={"connection_name": name},
            )
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
            raise BusUnavailable(f"cannot connect to RabbitMQ: {exc!r}") from exc
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.declare_exchange(
                self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            for consumer, patterns in self._declare.items():
                if consumer not in self._subscriptions:
                    if self._ledger is not None:  # its consumer will be guarded
                        patterns = (*patterns, JOB_CANCELLED)
                    await self._declare_durable(channel, consumer, patterns)
            for sub in self._subscriptions.values():
                await self._consume(connection, sub)
        except BaseException:
            await _bounded(connection.close(), 5.0)
            raise
        self._connection, self._channel, self._exchange = connection, channel, exchange
        log.info("bus.started", namespace=self.topology.namespace,
                 consumers=sorted({*self._subscriptions, *self._declare}))

    async def stop(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._stopping = True
        # No new deliveries; bounded, as cancelling on a dead connection may wait.
        await asyncio.gather(*(
            _bounded(sub.queue.cancel(sub.consumer_tag), 2.0)
            for sub in self._subscriptions.values() if sub.queue and sub.consumer_tag
        ))
        running = [t for sub in self._subscriptions.values() for t in sub.tasks]
        if running:
            _, unfinished = await asyncio.wait(running, timeout=self._stop_timeout)
            if unfinished:
                log.warning("bus.stop_timeout", unfinished_handlers=len(unfinished))
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
        for sub in self._subscriptions.values():
            sub.queue = sub.consumer_tag = None
        self._connection = self._channel = self._exchange = None
        # Closing the channels hands every unacknowledged message back to its queue.
        await _bounded(connection.close(), 5.0)
        if self._ledger is not None:
            await _bounded(self._ledger.close(), 2.0)

    async def ping(self) -> bool:
        """A confirmed publish to a key no queue has: a round trip through the publishing
        channel, bounded by the publish timeout (at most 1 s)."""
        connection, channel = self._connection, self._channel
        if connection is None or channel is None or not connection.connected.is_set():
            return False
        try:
            async with asyncio.timeout(min(self._publish_timeout, 1.0)):
                await channel.default_exchange.publish(
                    aio_pika.Message(b""), routing_key=self.topology.ping_key, mandatory=False
                )
        except Exception:  # noqa: BLE001 - a health probe reports, it never raises
            return False
        return True

    async def publish(self, envelope: Envelope) -> None:
        key = routing_key(envelope)
        # A producer span only inside a trace that records (spans are exported); otherwise
        # the current context travels on as it is, without a span nobody keeps.
        span = (
            tracer.start_as_current_span(
                f"{self.topology.exchange} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.operation": "publish",
                    "messaging.destination.name": self.topology.exchange,
                    "messaging.rabbitmq.destination.routing_key": key,
                    "messaging.message.id": str(envelope.event_id),
                },
            )
            if trace.get_current_span().is_recording()
            else contextlib.nullcontext()
        )
        with span:
            headers: dict[str, Any] = {}
            propagate.inject(headers)
            message = aio_pika.Message(
                envelope.model_dump_json().encode(),
                delivery_mode=DeliveryMode.PERSISTENT,
                content_type="application/json",
                message_id=str(envelope.event_id),
                correlation_id=envelope.correlation_id,
                type=envelope.type,
                timestamp=envelope.occurred_at,
                headers=headers or None,  # a first attempt has no attempt header
            )
            await self._send(
                self._exchange, message, key, mandatory=envelope.type == "JobRequested"
            )

    async def dead_letters(self, consumer: str) -> list[Envelope]:
        letters = await dlq.peek(self._url, self.topology, consumer)
        envelopes = [letter.envelope for letter in letters]
        return [e for e in envelopes if e is not None]

    async def delete_topology(self) -> None:
        """Delete the exchange and every queue of this bus's consumers (tests, teardown)."""
        connection = await aio_pika.connect(self._url, timeout=self._connect_timeout)
        async with connection:
            channel = await connection.channel()
            for consumer in {*self._subscriptions, *self._declare}:
                for name in self.topology.all_queues(consumer, self._retry):
                    await channel.queue_delete(name)
            await channel.exchange_delete(self.topology.exchange)

    # -- topology ----------------------------------------------------------------------

    async def _declare_durable(
        self, channel: AbstractRobustChannel, consumer: str, patterns: Sequence[str]
    ) -> AbstractQueue:
        """A consumer's quorum queue, bindings, delay queues and DLQ. Idempotent: every
        process declares the same topology."""
        await channel.declare_queue(self.topology.dlq(consumer), durable=True)
        for delay_ms in delays_ms(self._retry):
            await channel.declare_queue(
                self.topology.delay_queue(consumer, delay_ms), durable=True,
                arguments=self.topology.delay_queue_arguments(consumer, delay_ms),
            )
        queue = await channel.declare_queue(
            self.topology.queue(consumer), durable=True,
            arguments=self.topology.queue_arguments(consumer),
        )
        for pattern in patterns:
            await queue.bind(self.topology.exchange, routing_key=pattern)
        return queue

    async def _consume(self, connection: AbstractRobustConnection, sub: _Subscription) -> None:
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=max(self._prefetch, sub.concurrency))
        if sub.transient:
            # One per process: the queue dies with its consumer, and x-expires removes it
            # even if the process was killed.
            queue = await channel.declare_queue(
                self.topology.queue(sub.consumer), durable=False, auto_delete=True,
                arguments={"x-expires": TRANSIENT_QUEUE_EXPIRES_MS},
            )
            for pattern in sub.bindings:
                await queue.bind(self.topology.exchange, routing_key=pattern)
        else:
            queue = await self._declare_durable(channel, sub.consumer, sub.bindings)
        sub.queue = queue
        sub.consumer_tag = await queue.consume(partial(self._on_message, sub))

    # -- publishing --------------------------------------------------------------------

    async def _send(
        self, exchange: AbstractExchange | None, message: aio_pika.Message, key: str,
        *, mandatory: bool,
    ) -> None:
        connection = self._connection
        if connection is None or exchange is None:
            raise RuntimeError("start() the bus before publishing")
        if not connection.connected.is_set():
            raise BusUnavailable("RabbitMQ is unreachable (reconnecting)")
        try:
            async with asyncio.timeout(self._publish_timeout):
                await exchange.publish(message, key, mandatory=mandatory)
        except TimeoutError as exc:
            raise BusUnavailable(
                f"RabbitMQ did not confirm {key!r} within {self._publish_timeout}s"
            ) from exc
        except PublishError:
            raise  # returned: no queue is bound for this key
        except CONNECTION_EXCEPTIONS as exc:  # the connection dropped, or a broker nack
            raise BusUnavailable(f"RabbitMQ did not confirm {key!r}: {exc!r}") from exc

    async def _republish(
        self, message: AbstractIncomingMessage, queue: str, extra: dict[str, Any]
    ) -> None:
        """Copy a delivered message, with `extra` headers, straight into `queue`."""
        headers = {k: v for k, v in (message.headers or {}).items()
                   if not k.startswith(DROPPED_ON_REPUBLISH)}
        headers.update(extra)
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
            timestamp=message.timestamp,
            delivery_mode=DeliveryMode.PERSISTENT,
        )
        channel = self._channel
        await self._send(channel.default_exchange if channel else None, copy, queue,
                         mandatory=True)

    # -- consuming ---------------------------------------------------------------------

    async def _on_message(self, sub: _Subscription, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        sub.tasks.add(task)
        try:
            async with sub.semaphore:
                if self._stopping:
                    return  # left unacknowledged: the broker redelivers it
                await self._process(sub, message)
        finally:
            sub.tasks.discard(task)

    async def _process(self, sub: _Subscription, message: AbstractIncomingMessage) -> None:
        headers = message.headers or {}
        attempt = _int(headers.get(ATTEMPT_HEADER), default=1)
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            log.error("bus.malformed", consumer=sub.consumer, error=str(exc)[:500])
            await self._dead_letter(sub, message, attempt, "malformed", exc)
            return
        carrier = {k: _text(v) for k, v in headers.items() if isinstance(v, str | bytes)}
        queue_name = self.topology.queue(sub.consumer)
        with (
            structlog.contextvars.bound_contextvars(**_log_fields(envelope)),
            tracer.start_as_current_span(
                f"{queue_name} process",
                context=propagate.extract(carrier),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.operation": "process",
                    "messaging.destination.name": queue_name,
                    "messaging.message.id": str(envelope.event_id),
                    "messaging.rabbitmq.attempt": attempt,
                },
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
        ):
            started = time.perf_counter()
            try:
                await sub.handler(envelope)
            except Reject as exc:
                span.set_status(Status(StatusCode.ERROR, "rejected"))
                observe_handler(sub.consumer, envelope.type, "dead_letter", started)
                await self._dead_letter(sub, message, attempt, "rejected", exc, envelope)
            except RetryLater as exc:
                observe_handler(sub.consumer, envelope.type, "wait", started)
                waits = _int(headers.get(WAITS_HEADER), default=0) + 1
                await self._delay(sub, message, exc, envelope, attempt=attempt, waits=waits)
            except Exception as exc:  # noqa: BLE001 - any other failure means retry
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                if attempt >= self._retry.max_attempts or sub.transient:
                    observe_handler(sub.consumer, envelope.type, "dead_letter", started)
                    await self._dead_letter(sub, message, attempt, "exhausted", exc, envelope)
                else:
                    observe_handler(sub.consumer, envelope.type, "retry", started)
                    await self._delay(sub, message, exc, envelope, attempt=attempt + 1)
            else:
                observe_handler(sub.consumer, envelope.type, "ok", started)
                await _settle(message.ack(), sub.consumer)

    async def _delay(
        self, sub: _Subscription, message: AbstractIncomingMessage, exc: Exception,
        envelope: Envelope, *, attempt: int, waits: int = 0,
    ) -> None:
        """Redeliver later: as delivery `attempt` after a failure, or after the `waits`-th
        RetryLater in a row with the attempt unchanged."""
        if sub.transient:
            await self._dead_letter(sub, message, attempt, "dropped", exc, envelope)
            return
        delay = self._retry.wait_delay(waits) if waits else self._retry.delay_before(attempt)
        delay_ms = to_ms(delay)
        target = (self.topology.delay_queue(sub.consumer, delay_ms) if delay_ms
                  else self.topology.queue(sub.consumer))
        log.warning("bus.wait" if waits else "bus.retry", consumer=sub.consumer,
                    event_type=envelope.type, attempt=attempt, waits=waits or None,
                    delay_s=delay_ms / 1000, error=repr(exc))
        extra: dict[str, Any] = {ATTEMPT_HEADER: attempt}
        if waits:
            extra[WAITS_HEADER] = waits
        try:
            await self._republish(message, target, extra)
        except Exception as pub_exc:  # noqa: BLE001
            log.error("bus.retry_publish_failed", consumer=sub.consumer, error=repr(pub_exc))
            # Immediate broker redelivery, same attempt; x-delivery-limit bounds a loop.
            await _settle(message.nack(requeue=True), sub.consumer)
            return
        await _settle(message.ack(), sub.consumer)

    async def _dead_letter(
        self, sub: _Subscription, message: AbstractIncomingMessage, attempt: int, reason: str,
        exc: BaseException, envelope: Envelope | None = None,
    ) -> None:
        if sub.transient:
            # Transient subscriptions carry best-effort signals: no retries, no DLQ.
            log.warning("bus.transient_dropped", consumer=sub.consumer, reason=reason,
                        error=repr(exc))
            await _settle(message.ack(), sub.consumer)
            return
        log.error(
            "bus.dead_letter",
            consumer=sub.consumer,
            event_type=envelope.type if envelope else None,
            event_id=str(envelope.event_id) if envelope else message.message_id,
            attempts=attempt,
            reason=reason,
            error=repr(exc),
        )
        extra = {
            ATTEMPT_HEADER: attempt,
            REASON_HEADER: reason,
            ERROR_HEADER: repr(exc)[:1000],
            CONSUMER_HEADER: sub.consumer,
        }
        if envelope is not None and (
            failure := failure_of_dead_letter(envelope, reason, attempt, exc)
        ) is not None:
            try:
                await self.publish(failure)
            except Exception as pub_exc:  # noqa: BLE001 - the dead letter itself matters more
                log.error("bus.job_failure_publish_failed", consumer=sub.consumer,
                          error=repr(pub_exc))
        try:
            await self._republish(message, self.topology.dlq(sub.consumer), extra)
        except Exception as pub_exc:  # noqa: BLE001
            log.error("bus.dead_letter_publish_failed", consumer=sub.consumer,
                      error=repr(pub_exc))
            # The queue's dead-letter exchange routes it to the DLQ broker-side.
            await _settle(message.reject(requeue=False), sub.consumer)
            return
        await _settle(message.ack(), sub.consumer)


def _log_fields(envelope: Envelope) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_type": envelope.type,
        "event_id": str(envelope.event_id),
        "correlation_id": envelope.correlation_id,
    }
    if isinstance(envelope.payload.get("job_id"), str):
        fields["job_id"] = envelope.payload["job_id"]
    return fields


async def _settle(action: Any, consumer: str) -> None:
    """Ack/nack; if the channel died meanwhile the broker redelivers, which is fine."""
    try:
        await action
    except CONNECTION_EXCEPTIONS as exc:
        log.warning("bus.settle_failed", consumer=consumer, error=repr(exc))


async def _bounded(step: Any, timeout: float) -> None:
    """Await a shutdown step; a broken connection must not make stop() hang or raise."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(step, timeout)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
