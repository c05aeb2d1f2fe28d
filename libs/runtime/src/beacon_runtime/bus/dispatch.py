"""A consumer's handler table: `{message type: handler}`, parsed once, rejected in one place.

A service registers `{GenerateSection: draft, RefineSection: draft}` (commands) or
`{JobStarted: apply, JobCompleted: apply}` (events) with `subscribe()`. The table decides
the queue's routing patterns too, so a handler can never miss a message it was written for.

What cannot be read is dealt with here, never in a handler: it is dead-lettered (`Reject`)
with words that name the invalid fields, and for a command whose job id and kind can be read
the bus ends that job with them, JobCompleted(failed, INVALID_INPUT) (bus/job_failures.py),
so the client sees the error instead of a job pending for ever; a question's stream gets its
`error` frame first. A type the table does not list is dead-lettered as well.

`hooks` wrap every typed call (outermost first): `await hook(message, envelope, call)`
runs before and after `await call()`, or skips it (an already processed event id, a
cancelled job). The place for idempotency records and cancellation checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from pydantic import ValidationError

from beacon_contracts import routing
from beacon_contracts.base import JobKind, Payload
from beacon_contracts.commands import JOB_REQUESTED, Command
from beacon_contracts.events import Envelope, QueryFrame
from beacon_runtime.bus.port import EventBus, Reject
from beacon_runtime.logs import get_logger

log = get_logger(__name__)

INVALID_INPUT = "INVALID_INPUT"

MessageHandler = Callable[[Any, Envelope], Awaitable[None]]
Call = Callable[[], Awaitable[None]]
Hook = Callable[[Payload, Envelope, Call], Awaitable[None]]


def patterns_for(message_types: Sequence[type[Payload]]) -> tuple[str, ...]:
    """The routing keys a table's message types arrive with, in the table's order."""
    keys: list[str] = []
    for message_type in message_types:
        if issubclass(message_type, Command):
            key = routing.job_requested(message_type.job_kind())
        else:
            key = routing.routing_key(Envelope(type=message_type.EVENT_TYPE,
                                               correlation_id="-", payload={}))
        if key not in keys:
            keys.append(key)
    return tuple(keys)


class Dispatcher:
    """The bus handler of one consumer: envelope in, typed call out."""

    def __init__(self, bus: EventBus, consumer: str, table: Mapping[type[Payload], MessageHandler],
                 hooks: Sequence[Hook] = ()) -> None:
        self._bus = bus
        self._consumer = consumer
        self._table = dict(table)
        self._hooks = tuple(hooks)

    @property
    def patterns(self) -> tuple[str, ...]:
        return patterns_for(list(self._table))

    async def __call__(self, envelope: Envelope) -> None:
        try:
            message = envelope.parse()
        except ValueError as exc:  # pydantic's ValidationError is one
            await self._turn_away(envelope, exc)
            return
        handler = self._table.get(type(message))
        if handler is None:
            raise Reject(f"{self._consumer} does not handle {type(message).__name__}")
        call: Call = partial(handler, message, envelope)
        for hook in reversed(self._hooks):
            call = partial(hook, message, envelope, call)
        await call()

    async def _turn_away(self, envelope: Envelope, exc: ValueError) -> None:
        """Dead-letter it, in words that name the invalid fields: for a command whose job
        can be named the bus then ends the job with them, JobCompleted(failed,
        INVALID_INPUT) (bus/job_failures.py). A question's stream gets its `error` frame
        first (seq 0: that stream never started)."""
        reason = _describe(exc)
        payload = envelope.payload
        if envelope.type == JOB_REQUESTED and payload.get("kind") == JobKind.QUERY.value and (
            isinstance(job_id := payload.get("job_id"), str) and job_id
        ):
            # A failed publish raises: the bus retries the message, and the frame is sent then.
            await self._bus.publish(envelope.follow(QueryFrame(
                query_id=job_id, seq=0, event="error",
                data={"code": INVALID_INPUT, "message": reason})))
        log.warning("bus.unreadable", consumer=self._consumer, event_type=envelope.type,
                    reason=reason)
        raise Reject(reason) from exc


def subscribe(
    bus: EventBus,
    consumer: str,
    table: Mapping[type[Payload], MessageHandler],
    *,
    hooks: Sequence[Hook] = (),
    concurrency: int = 1,
    transient: bool = False,
    once: bool = True,
) -> Dispatcher:
    """Register a handler table as `consumer`, bound to exactly the table's routing keys.
    `once=False` opts out of the bus's effectively-once guard (EventBus.subscribe)."""
    dispatcher = Dispatcher(bus, consumer, table, hooks)
    bus.subscribe(consumer, dispatcher.patterns, dispatcher,
                  concurrency=concurrency, transient=transient, once=once)
    return dispatcher


def _describe(exc: ValueError) -> str:
    if not isinstance(exc, ValidationError):
        return str(exc)
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in exc.errors()
    )
