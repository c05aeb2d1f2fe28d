"""RabbitMQ adapter of the event bus, on FastStream's RabbitBroker (aio-pika underneath).

Topology, for a namespace ``ns`` (``"beacon"`` in production, unique per test):

* ``ns.events`` — durable topic exchange; every envelope is published there with its
  routing key (:func:`beacon_contracts.routing.routing_key`), persistent, and ``publish()``
  returns only after the broker's publisher confirm.
* ``ns.<consumer>`` — one durable **quorum** queue per consumer name, bound to the
  consumer's patterns. Several processes subscribing the same consumer name compete on it.
  Its broker-side dead-letter target is the DLQ below, with ``x-delivery-limit`` as a
  safety net for messages that keep killing their consumer (crash loops never ack or nack).
* ``ns.<consumer>.dlq`` — durable classic queue of dead letters. Classic, so that peeking
  (``basic.get`` then requeue) keeps the original order.
* ``ns.<consumer>.retry.<ms>ms`` — durable classic *delay queues*, one per distinct back-off
  delay of the :class:`RetryPolicy` (at most ``max_attempts - 1`` of them). Each has a
  queue-level ``x-message-ttl`` of that delay and dead-letters expired messages through the
  default exchange straight back to ``ns.<consumer>`` (not through the topic exchange, so
  other consumers never see a retry).

Retries. The attempt number travels in the ``x-beacon-attempt`` header (1 on publish).
When a handler raises, the consumer republishes the same body and headers with the next
attempt number to the delay queue for ``retry.delay_before(attempt + 1)``, waits for the
confirm, then acks the original. After ``max_attempts`` deliveries — or at once for
:class:`Reject` and for a body that is not a valid :class:`Envelope` — the message is
republished to the DLQ (with ``x-beacon-dead-reason`` / ``x-beacon-error`` headers) and the
original acked. One queue per delay, rather than per-message ``expiration`` in one queue,
because RabbitMQ only expires messages at the head of a queue: a 30 s message would hold
back a 50 ms one. Queue-level TTL keeps every delay queue FIFO in expiry order. If the
republish itself fails the original is nacked (requeue for a retry, dead-letter via the
broker's DLX for a dead letter) so nothing is lost or looped forever. A crash mid-handler
(connection lost, no ack) gives a plain broker redelivery with the same attempt number.

What FastStream does. ``start()`` builds a :class:`~faststream.rabbit.RabbitBroker`: it
opens the robust connection, its declarer declares the exchange and every queue, each
subscription is a FastStream subscriber with its own :class:`~faststream.rabbit.Channel`
(``basic.qos`` prefetch) and ``AckPolicy.MANUAL``, and every publish — events, retry and
dead-letter republishes — goes through the broker's producer on its default channel,
which has publisher confirms and raises on a returned ``mandatory`` message. The port is
dynamic (consumers and patterns come from ``subscribe()`` calls), so subscribers are
registered at start rather than with decorators, and the handler receives the
:class:`~faststream.rabbit.message.RabbitMessage` itself (identity decoder, no FastDepends)
because this module settles every message after its handler finished. Where FastStream
has no API, this module uses the aio-pika objects FastStream opened — for the extra
bindings of one queue to several patterns (``bind`` on the queue its declarer returns),
for peeking the DLQ (``basic.get`` then requeue on a plain channel of the broker's
connection; FastStream's ``get_one`` refuses on a subscriber with handlers) and for queue
deletion in ``delete_topology`` — and it cancels handlers still running after the stop
timeout itself (FastStream's graceful stop waits for them but never cancels them). Trace
context is propagated with the OpenTelemetry API (W3C ``traceparent`` header).

Connection loss: aio-pika's robust connection under the broker reconnects (interval 5 s,
or ``?reconnect_interval=`` in the URL) and restores channels, QoS, queues, bindings and
consumers. Handlers running when the connection drops are cancelled by aio-pika (their
ack could not succeed anyway) and the broker redelivers their messages. ``publish()``
during an outage retries until ``publish_timeout_s`` and then raises
:class:`BusUnavailable`; it never hangs.

Concurrency: each subscription has its own channel with ``basic.qos(prefetch)`` (at least
``concurrency``) and a semaphore of ``concurrency`` handlers; prefetched messages waiting
for the semaphore are simply redelivered if the process stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
    DeliveryMode,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, ChannelNotFoundEntity
from faststream.middlewares import AckPolicy
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitPublishCommand,
    RabbitQueue,
)
from faststream.rabbit.message import RabbitMessage
from faststream.response import PublishType
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import ValidationError
from yarl import URL

from beacon_contracts.events import Envelope
from beacon_contracts.routing import routing_key
from beacon_runtime.bus.port import EventBus, Handler, Reject, RetryPolicy
from beacon_runtime.logs import get_logger
from beacon_runtime.metrics import observe_handler

log = get_logger(__name__)
tracer = trace.get_tracer("beacon_runtime.bus.rabbit")

ATTEMPT_HEADER = "x-beacon-attempt"
REASON_HEADER = "x-beacon-dead-reason"
ERROR_HEADER = "x-beacon-error"
CONSUMER_HEADER = "x-beacon-consumer"

# Broker-side safety net: deliveries of one attempt that ended without ack/nack (the
# consumer died). A constant, because changing queue arguments breaks redeclaration.
CRASH_DELIVERY_LIMIT = 10

# Headers added by the broker that must not be copied onto a republished message.
_BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")


TRANSIENT_QUEUE_EXPIRES_MS = 60_000
DEFAULT_RECONNECT_INTERVAL_S = 5.0


class BusUnavailable(RuntimeError):
    """The broker did not confirm a publish in time (outage, reconnect in progress)."""


@dataclass
class _Subscription:
    consumer: str
    patterns: tuple[str, ...]
    handler: Handler
    concurrency: int
    semaphore: asyncio.Semaphore
    transient: bool = False
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
        publish_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._retry = retry or RetryPolicy()
        self._prefetch = max(1, prefetch)
        self._ns = namespace
        # Durable queues to create at start even without a local consumer (command queues).
        self._declare = dict(declare or {})
        self._publish_timeout = publish_timeout_s
        self._connect_timeout = connect_timeout_s
        self._stop_timeout = stop_timeout_s
        self._subscriptions: dict[str, _Subscription] = {}
        self._events = RabbitExchange(self.exchange_name, type=ExchangeType.TOPIC, durable=True)
        self._broker: RabbitBroker | None = None
        self._connection: AbstractRobustConnection | None = None
        self._pub_channel: AbstractRobustChannel | None = None
        self._running = False
        self._stopping = False

    # -- names -------------------------------------------------------------------------

    @property
    def exchange_name(self) -> str:
        return f"{self._ns}.events"

    def queue_name(self, consumer: str) -> str:
        return f"{self._ns}.{consumer}"

    def dlq_name(self, consumer: str) -> str:
        return f"{self._ns}.{consumer}.dlq"

    def retry_queue_name(self, consumer: str, delay_ms: int) -> str:
        return f"{self._ns}.{consumer}.retry.{delay_ms}ms"

    def _retry_delays_ms(self) -> list[int]:
        delays = {self._delay_ms(a) for a in range(2, self._retry.max_attempts + 1)}
        return sorted(d for d in delays if d > 0)

    def _delay_ms(self, attempt: int) -> int:
        return max(0, round(self._retry.delay_before(attempt) * 1000))

    # -- queue schemas -----------------------------------------------------------------

    def _consumer_queue(self, consumer: str) -> RabbitQueue:
        return RabbitQueue(
            self.queue_name(consumer),
            QueueType.QUORUM,
            arguments={
                "x-delivery-limit": CRASH_DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.dlq_name(consumer),
            },
        )

    def _transient_queue(self, consumer: str) -> RabbitQueue:
        # One per process (e.g. per-instance cancel signals): the queue dies with its
        # consumer, and x-expires removes it even if the process was killed.
        return RabbitQueue(
            self.queue_name(consumer),
            durable=False,
            auto_delete=True,
            arguments={"x-expires": TRANSIENT_QUEUE_EXPIRES_MS},
        )

    def _side_queues(self, consumer: str) -> list[RabbitQueue]:
        """The consumer's DLQ and delay queues."""
        queues = [RabbitQueue(self.dlq_name(consumer), durable=True)]
        for delay_ms in self._retry_delays_ms():
            queues.append(
                RabbitQueue(
                    self.retry_queue_name(consumer, delay_ms),
                    durable=True,
                    arguments={
                        "x-message-ttl": delay_ms,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": self.queue_name(consumer),
                    },
                )
            )
        return queues

    # -- port --------------------------------------------------------------------------

    def subscribe(
        self,
        consumer: str,
        patterns: Sequence[str],
        handler: Handler,
        *,
        concurrency: int = 1,
        transient: bool = False,
    ) -> None:
        if self._running:
            raise RuntimeError("subscribe before start()")
        if consumer in self._subscriptions:
            # Two handlers on one queue would each get a random share of the messages.
            raise ValueError(f"consumer {consumer!r} already subscribed; use concurrency=")
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self._subscriptions[consumer] = _Subscription(
            consumer, tuple(patterns), handler, concurrency, asyncio.Semaphore(concurrency),
            transient=transient,
        )

    def _new_broker(self) -> RabbitBroker:
        url = URL(self._url)
        name = f"{self._ns}:{','.join(self._subscriptions) or 'publisher'}"
        # The broker passes its own reconnect_interval to aio-pika, which would override
        # the URL's; read the URL's so that `?reconnect_interval=` keeps working.
        reconnect = float(url.query.get("reconnect_interval", DEFAULT_RECONNECT_INTERVAL_S))
        return RabbitBroker(
            str(url.update_query(name=name)),  # aiormq names the connection from `name`
            timeout=self._connect_timeout,
            reconnect_interval=reconnect,
            # Publishing channel: confirms, and a returned mandatory message raises.
            default_channel=Channel(publisher_confirms=True, on_return_raises=True),
            app_id=None,
            graceful_timeout=self._stop_timeout,
            logger=None,  # this module logs through structlog
            apply_types=False,
        )

    async def start(self) -> None:
        if self._running:
            return
        self._stopping = False
        broker = self._new_broker()
        registered = {name: self._register(broker, s) for name, s in self._subscriptions.items()}
        try:
            self._connection = await broker.connect()
        except (*CONNECTION_EXCEPTIONS, TimeoutError) as exc:
            self._connection = None
            raise BusUnavailable(f"cannot connect to RabbitMQ: {exc!r}") from exc
        try:
            await broker.declare_exchange(self._events)
            for consumer, patterns in self._declare.items():
                if consumer not in self._subscriptions:
                    queue = await self._declare_durable(broker, consumer, channel=None)
                    await self._bind(queue, patterns)
            for sub in self._subscriptions.values():
                queue = await self._declare_subscription(broker, sub, registered[sub.consumer])
                await self._bind(queue, sub.patterns)
            await broker.start()  # the subscribers start consuming
            self._pub_channel = await broker.config.channel_manager.get_channel()
        except BaseException:
            await _close(broker)
            self._connection = None
            raise
        self._broker = broker
        self._running = True
        log.info(
            "bus.started", namespace=self._ns,
            consumers=sorted({*self._subscriptions, *self._declare}),
        )

    def _register(self, broker: RabbitBroker, sub: _Subscription) -> tuple[RabbitQueue, Channel]:
        """A FastStream subscriber for `sub` on its own channel; returns its queue and channel."""
        queue = (
            self._transient_queue(sub.consumer) if sub.transient
            else self._consumer_queue(sub.consumer)
        )
        channel = Channel(
            prefetch_count=max(self._prefetch, sub.concurrency), publisher_confirms=False
        )
        subscriber = broker.subscriber(
            queue,
            channel=channel,
            ack_policy=AckPolicy.MANUAL,  # settled below, after the handler finished
            no_reply=True,
            decoder=_as_is,
        )

        async def on_message(message: RabbitMessage) -> None:
            await self._on_message(sub, message)

        subscriber(on_message)
        return queue, channel

    async def _declare_subscription(
        self, broker: RabbitBroker, sub: _Subscription, registered: tuple[RabbitQueue, Channel]
    ) -> AbstractRobustQueue:
        queue, channel = registered
        if sub.transient:
            return await broker.config.declarer.declare_queue(queue, channel=channel)
        return await self._declare_durable(broker, sub.consumer, channel=channel)

    async def _declare_durable(
        self, broker: RabbitBroker, consumer: str, *, channel: Channel | None
    ) -> AbstractRobustQueue:
        """A consumer's quorum queue, its delay queues and DLQ. Idempotent: every process
        may declare the same topology. The consumer queue is declared on the subscriber's
        channel: FastStream's declarer caches it by name, and the subscriber then consumes
        from that very queue object, with that channel's QoS."""
        for side in self._side_queues(consumer):
            await broker.declare_queue(side)
        return await broker.config.declarer.declare_queue(
            self._consumer_queue(consumer), channel=channel
        )

    async def _bind(self, queue: AbstractRobustQueue, patterns: Sequence[str]) -> None:
        # FastStream binds a subscriber's queue with one routing key; ours have several.
        for pattern in patterns:
            await queue.bind(self.exchange_name, routing_key=pattern)

    async def stop(self) -> None:
        broker = self._broker
        if broker is None:
            return
        self._stopping = True
        # FastStream's graceful stop: deliveries are no longer handled, running handlers
        # get stop_timeout_s, then the consumer is cancelled. Bounded: cancelling a consumer
        # on a connection that is down could wait for the reconnect.
        await asyncio.gather(
            *(_bounded(sub.stop(), self._stop_timeout + 2.0) for sub in broker.subscribers)
        )
        tasks = [t for sub in self._subscriptions.values() for t in sub.tasks]
        if tasks:
            log.warning("bus.stop_timeout", unfinished_handlers=len(tasks))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._broker = self._connection = self._pub_channel = None
        self._running = False
        await _close(broker)

    async def ping(self) -> bool:
        conn = self._connection
        return conn is not None and not conn.is_closed and conn.connected.is_set()

    async def publish(self, envelope: Envelope) -> None:
        key = routing_key(envelope)
        # A producer span only inside a trace that records (spans are exported). Otherwise
        # the current trace context travels on as it is, and creating and ending a span
        # nobody keeps would cost every publish (~5 % of POST /generate, measured).
        span = (
            tracer.start_as_current_span(
                f"{self.exchange_name} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.operation": "publish",
                    "messaging.destination.name": self.exchange_name,
                    "messaging.rabbitmq.destination.routing_key": key,
                    "messaging.message.id": str(envelope.event_id),
                },
            )
            if trace.get_current_span().is_recording()
            else contextlib.nullcontext()
        )
        with span:
            # Only the trace context; a first attempt carries no attempt header (a missing
            # one reads as 1), which keeps the common message's properties small: each
            # property is encoded on every publish and stored by the quorum queue.
            headers: dict[str, Any] = {}
            propagate.inject(headers)
            await self._publish(
                envelope.model_dump_json().encode(),
                key,
                exchange=self._events,
                # A command nobody can receive is an error to report, not an event to drop.
                mandatory=envelope.type == "JobRequested",
                content_type="application/json",
                message_id=str(envelope.event_id),
                correlation_id=envelope.correlation_id,
                message_type=envelope.type,
                timestamp=envelope.occurred_at,
                headers=headers or None,
            )

    async def dead_letters(self, consumer: str) -> list[Envelope]:
        if self._connection is None:
            raise RuntimeError("start() the bus before reading dead letters")
        result: list[Envelope] = []
        # FastStream cannot peek. A plain (non-robust) aio-pika channel on the broker's
        # connection: a failed passive declare closes it, and closing it hands every
        # fetched message back to the queue in its original position.
        async with aio_pika.Channel(self._connection, publisher_confirms=False) as channel:
            try:
                queue = await channel.declare_queue(self.dlq_name(consumer), passive=True)
            except ChannelNotFoundEntity:
                return []
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                try:
                    result.append(Envelope.model_validate_json(message.body))
                except ValidationError:
                    log.warning(
                        "bus.dead_letter_unreadable", consumer=consumer, size=len(message.body)
                    )
        return result

    async def delete_topology(self) -> None:
        """Delete the exchange and every queue of this bus's consumers (tests, teardown)."""
        broker = RabbitBroker(self._url, timeout=self._connect_timeout, logger=None)
        try:
            await broker.connect()
            # FastStream declares but never deletes: use the channel it opened.
            channel = await broker.config.channel_manager.get_channel()
            for consumer in {*self._subscriptions, *self._declare}:
                names = [self.queue_name(consumer), self.dlq_name(consumer)]
                names += [self.retry_queue_name(consumer, d) for d in self._retry_delays_ms()]
                for name in names:
                    await channel.queue_delete(name)
            await channel.exchange_delete(self.exchange_name)
        finally:
            await broker.stop()

    # -- publishing --------------------------------------------------------------------

    async def _publish(
        self,
        body: bytes,
        key: str,
        *,
        exchange: RabbitExchange | None,
        mandatory: bool,
        **properties: Any,
    ) -> None:
        """Publish and wait for the confirm; retry across a reconnect until the deadline.
        `exchange=None` is the default exchange, i.e. straight to the queue named `key`."""
        broker, channel = self._broker, self._pub_channel
        if broker is None or channel is None:
            raise RuntimeError("start() the bus before publishing")
        # The broker's producer rather than broker.publish(): the same confirmed publish on
        # the same channel, minus a layer of per-call option handling that cost ~20 µs of CPU
        # per publish (measured), for broker middlewares this bus does not have. The message
        # is built here, complete: FastStream sends an aio-pika Message as it is instead of
        # encoding the body again (another ~60 µs per POST /generate under load, measured).
        producer = broker.config.producer
        message = aio_pika.Message(
            body,
            delivery_mode=DeliveryMode.PERSISTENT,
            type=properties.pop("message_type", None),
            **properties,
        )
        command = RabbitPublishCommand(
            message,
            _publish_type=PublishType.PUBLISH,
            exchange=exchange,
            routing_key=key,
            mandatory=mandatory,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        last: BaseException | None = None
        while (remaining := deadline - loop.time()) > 0:
            try:
                # A timeout in this task, not asyncio.wait_for: that adds a task per publish,
                # and aiormq rolls a publish back safely only when cancelled in its own task.
                async with asyncio.timeout(remaining):
                    await producer.publish(command)
                return
            except TimeoutError:
                break
            except aio_pika.exceptions.PublishError:
                raise
            except CONNECTION_EXCEPTIONS as exc:
                last = exc
                log.warning("bus.publish_retry", routing_key=key, error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(channel.ready(), max(0.0, deadline - loop.time()))
                await asyncio.sleep(0.05)
        raise BusUnavailable(
            f"RabbitMQ did not confirm {key!r} within {self._publish_timeout}s"
            + (f" (last error: {last!r})" if last else "")
        )

    async def _republish(self, message: RabbitMessage, queue: str, extra: dict[str, Any]) -> None:
        """Copy a delivered message, with `extra` headers, straight into `queue` (must be
        routed, or it raises)."""
        raw = message.raw_message
        headers = {
            k: v for k, v in (raw.headers or {}).items() if not k.startswith(_BROKER_HEADERS)
        }
        headers.update(extra)
        await self._publish(
            raw.body,
            queue,
            exchange=None,
            mandatory=True,
            content_type=raw.content_type,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            message_type=raw.type,
            timestamp=raw.timestamp,
            headers=headers,
        )

    # -- consuming ---------------------------------------------------------------------

    async def _on_message(self, sub: _Subscription, message: RabbitMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        sub.tasks.add(task)
        try:
            async with sub.semaphore:
                if self._stopping:
                    return  # left unacknowledged: the broker redelivers it elsewhere
                await self._process(sub, message)
        finally:
            sub.tasks.discard(task)

    async def _process(self, sub: _Subscription, message: RabbitMessage) -> None:
        headers = dict(message.headers or {})
        attempt = _int(headers.get(ATTEMPT_HEADER), default=1)
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            log.error("bus.malformed", consumer=sub.consumer, error=str(exc)[:500])
            await self._dead_letter(sub, message, attempt, "malformed", exc)
            return

        carrier = {k: _text(v) for k, v in headers.items() if isinstance(v, str | bytes)}
        context = propagate.extract(carrier)
        bound: dict[str, Any] = {
            "event_type": envelope.type,
            "event_id": str(envelope.event_id),
            "correlation_id": envelope.correlation_id,
        }
        if isinstance(envelope.payload.get("job_id"), str):
            bound["job_id"] = envelope.payload["job_id"]
        queue_name = self.queue_name(sub.consumer)
        with (
            structlog.contextvars.bound_contextvars(**bound),
            tracer.start_as_current_span(
                f"{queue_name} process",
                context=context,
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
            except Exception as exc:  # noqa: BLE001 - any handler failure means retry
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                if attempt >= self._retry.max_attempts or sub.transient:
                    observe_handler(sub.consumer, envelope.type, "dead_letter", started)
                    await self._dead_letter(sub, message, attempt, "exhausted", exc, envelope)
                else:
                    observe_handler(sub.consumer, envelope.type, "retry", started)
                    await self._schedule_retry(sub, message, attempt, exc, envelope)
            else:
                observe_handler(sub.consumer, envelope.type, "ok", started)
                await _settle(message.ack(), sub.consumer)

    async def _schedule_retry(
        self,
        sub: _Subscription,
        message: RabbitMessage,
        attempt: int,
        exc: Exception,
        envelope: Envelope,
    ) -> None:
        delay_ms = self._delay_ms(attempt + 1)
        target = (
            self.retry_queue_name(sub.consumer, delay_ms)
            if delay_ms > 0
            else self.queue_name(sub.consumer)
        )
        log.warning(
            "bus.retry",
            consumer=sub.consumer,
            event_type=envelope.type,
            attempt=attempt,
            delay_s=delay_ms / 1000,
            error=repr(exc),
        )
        try:
            await self._republish(message, target, {ATTEMPT_HEADER: attempt + 1})
        except Exception as pub_exc:  # noqa: BLE001
            log.error("bus.retry_publish_failed", consumer=sub.consumer, error=repr(pub_exc))
            # Immediate broker redelivery, same attempt; x-delivery-limit bounds a loop.
            await _settle(message.nack(requeue=True), sub.consumer)
            return
        await _settle(message.ack(), sub.consumer)

    async def _dead_letter(
        self,
        sub: _Subscription,
        message: RabbitMessage,
        attempt: int,
        reason: str,
        exc: BaseException,
        envelope: Envelope | None = None,
    ) -> None:
        if sub.transient:
            # Transient subscriptions carry best-effort signals: no retries, no DLQ.
            log.warning(
                "bus.transient_dropped", consumer=sub.consumer, reason=reason, error=repr(exc)
            )
            await _settle(message.ack(), sub.consumer)
            return
        log.error(
            "bus.dead_letter",
            consumer=sub.consumer,
            event_type=envelope.type if envelope else None,
            event_id=str(envelope.event_id) if envelope else message.raw_message.message_id,
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
        try:
            await self._republish(message, self.dlq_name(sub.consumer), extra)
        except Exception as pub_exc:  # noqa: BLE001
            log.error("bus.dead_letter_publish_failed", consumer=sub.consumer, error=repr(pub_exc))
            # The main queue's dead-letter exchange routes it to the DLQ broker-side.
            await _settle(message.reject(requeue=False), sub.consumer)
            return
        await _settle(message.ack(), sub.consumer)


async def _as_is(message: RabbitMessage) -> RabbitMessage:
    """Subscriber decoder: hand the handler the message itself, not a decoded body."""
    return message


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


async def _close(broker: RabbitBroker) -> None:
    await _bounded(broker.stop(), 5.0)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
