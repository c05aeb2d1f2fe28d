"""Reading and replaying a consumer's dead-letter queue (the bus adapter and `beacon-dlq`).

Each operation opens its own short connection: these are operator actions, not a hot path,
and a plain channel has the property peeking relies on: closing it hands every fetched,
unacknowledged message back to the queue in its original position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from aio_pika.exceptions import ChannelNotFoundEntity
from pydantic import ValidationError

from beacon_contracts.events import Envelope
from beacon_runtime.bus.topology import (
    ATTEMPT_HEADER,
    CONSUMER_HEADER,
    DROPPED_ON_REPUBLISH,
    ERROR_HEADER,
    REASON_HEADER,
    REPLAYS_HEADER,
    Topology,
)


@dataclass(frozen=True)
class DeadLetter:
    """One message of a DLQ as it is stored (its body need not be a valid Envelope)."""

    position: int  # 1 = oldest
    message_id: str | None
    message_type: str | None
    timestamp: datetime | None
    body: bytes
    headers: dict[str, Any]

    @property
    def envelope(self) -> Envelope | None:
        try:
            return Envelope.model_validate_json(self.body)
        except ValidationError:
            return None

    @property
    def reason(self) -> str:
        """Ours (malformed, rejected, exhausted), or the broker's when it dead-lettered the
        message itself (delivery limit reached: the consumer kept dying on it)."""
        if REASON_HEADER in self.headers:
            return _text(self.headers[REASON_HEADER])
        deaths = self.headers.get("x-death") or []
        return f"broker:{_text(deaths[0].get('reason'))}" if deaths else "unknown"

    @property
    def attempts(self) -> int | None:
        value = self.headers.get(ATTEMPT_HEADER)
        return int(value) if value is not None else None

    @property
    def error(self) -> str:
        return _text(self.headers.get(ERROR_HEADER, ""))

    @property
    def consumer(self) -> str | None:
        value = self.headers.get(CONSUMER_HEADER)
        return _text(value) if value is not None else None

    def summary(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "message_id": self.message_id,
            "type": self.message_type,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "reason": self.reason,
            "attempts": self.attempts,
            "error": self.error,
            "replays": self.headers.get(REPLAYS_HEADER, 0),
        }


async def peek(url: str, topology: Topology, consumer: str) -> list[DeadLetter]:
    """Every dead letter of `consumer`, oldest first; the queue is left as it was."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=False)
        try:
            queue = await channel.declare_queue(topology.dlq(consumer), passive=True)
        except ChannelNotFoundEntity:
            return []
        letters = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            letters.append(_letter(len(letters) + 1, message))
        return letters  # closing the channel requeues them all, in order


async def replay(
    url: str, topology: Topology, consumer: str, select: Callable[[DeadLetter], bool]
) -> list[DeadLetter]:
    """Move the selected dead letters back to the consumer's queue as fresh first attempts
    (each published with a confirm before it leaves the DLQ: at worst a crash in between
    replays it twice, which idempotent handlers absorb). Returns what was replayed."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            queue = await channel.declare_queue(topology.dlq(consumer), passive=True)
        except ChannelNotFoundEntity:
            return []
        replayed, position = [], 0
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            position += 1
            letter = _letter(position, message)
            if select(letter):
                await _send_back(channel, topology.queue(consumer), message)
                await message.ack()
                replayed.append(letter)
        return replayed  # the others return to the DLQ, in order, when the channel closes


async def _send_back(channel: AbstractChannel, queue: str, message: AbstractIncomingMessage) -> None:
    headers = {k: v for k, v in (message.headers or {}).items()
               if not k.startswith(DROPPED_ON_REPUBLISH)}
    headers[REPLAYS_HEADER] = int(message.headers.get(REPLAYS_HEADER, 0) or 0) + 1
    copy = aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        timestamp=message.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    # mandatory: a consumer queue that does not exist is an error, not a silent drop
    await channel.default_exchange.publish(copy, routing_key=queue, mandatory=True)


def _letter(position: int, message: AbstractIncomingMessage) -> DeadLetter:
    return DeadLetter(
        position=position,
        message_id=message.message_id,
        message_type=message.type,
        timestamp=message.timestamp,
        body=message.body,
        headers=dict(message.headers or {}),
    )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
