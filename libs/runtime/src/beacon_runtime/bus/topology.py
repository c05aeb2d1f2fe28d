"""Names, queue arguments and message headers of the RabbitMQ bus: its wire format.

For a namespace ``ns`` (``"beacon"`` in production, unique per test):

* ``ns.events``: durable topic exchange; every envelope is published there with its
  routing key (:func:`beacon_contracts.routing.routing_key`).
* ``ns.<consumer>``: one durable **quorum** queue per consumer name, bound to the
  consumer's patterns; processes subscribing the same name compete on it. Its broker-side
  dead-letter target is the DLQ, with ``x-delivery-limit`` as a net for messages that keep
  killing their consumer (a crash loop never acks or nacks). A *transient* consumer's queue
  is instead non-durable and auto-deleted with its consumer.
* ``ns.<consumer>.dlq``: durable classic queue of dead letters (classic, so that peeking,
  ``basic.get`` then requeue, keeps the order).
* ``ns.<consumer>.retry.<ms>ms``: durable classic delay queues, one per distinct back-off
  delay of the :class:`~beacon_runtime.bus.port.RetryPolicy` (retries and waits). Each has a
  queue-level ``x-message-ttl`` and dead-letters expired messages through the default
  exchange straight back to ``ns.<consumer>``, so other consumers never see a retry. One
  queue per delay, because RabbitMQ expires messages only at the head of a queue: a 30 s
  message would hold back a 50 ms one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beacon_runtime.bus.port import RetryPolicy

ATTEMPT_HEADER = "x-beacon-attempt"  # absent on a first publish: attempt 1
WAITS_HEADER = "x-beacon-waits"  # RetryLater redeliveries in a row
REASON_HEADER = "x-beacon-dead-reason"  # malformed | rejected | exhausted
ERROR_HEADER = "x-beacon-error"
CONSUMER_HEADER = "x-beacon-consumer"
REPLAYS_HEADER = "x-beacon-replays"  # times an operator replayed it from the DLQ

# Headers a republish (retry, dead letter, replay) never copies: ours are set afresh, and
# the broker's own describe the previous hop.
DROPPED_ON_REPUBLISH = (
    ATTEMPT_HEADER, WAITS_HEADER, REASON_HEADER, ERROR_HEADER, CONSUMER_HEADER,
    "x-death", "x-first-death-", "x-last-death-", "x-delivery-count",
)

# Deliveries of one attempt that ended without ack or nack (the consumer died). A constant:
# changing a queue's arguments breaks its redeclaration.
CRASH_DELIVERY_LIMIT = 10
TRANSIENT_QUEUE_EXPIRES_MS = 60_000


@dataclass(frozen=True)
class Topology:
    namespace: str = "beacon"

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def ping_key(self) -> str:
        """A routing key no queue has: a confirmed publish to it is a cheap round trip."""
        return f"{self.namespace}.ping"

    def queue(self, consumer: str) -> str:
        return f"{self.namespace}.{consumer}"

    def dlq(self, consumer: str) -> str:
        return f"{self.namespace}.{consumer}.dlq"

    def delay_queue(self, consumer: str, delay_ms: int) -> str:
        return f"{self.namespace}.{consumer}.retry.{delay_ms}ms"

    def queue_arguments(self, consumer: str) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": CRASH_DELIVERY_LIMIT,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.dlq(consumer),
        }

    def delay_queue_arguments(self, consumer: str, delay_ms: int) -> dict[str, Any]:
        return {
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.queue(consumer),
        }

    def all_queues(self, consumer: str, retry: RetryPolicy) -> list[str]:
        return [self.queue(consumer), self.dlq(consumer)] + [
            self.delay_queue(consumer, ms) for ms in delays_ms(retry)
        ]


def to_ms(delay_s: float) -> int:
    return max(0, round(delay_s * 1000))


def delays_ms(retry: RetryPolicy) -> list[int]:
    """Every non-zero delay a message can wait in a delay queue."""
    delays = {to_ms(retry.delay_before(a)) for a in range(2, retry.max_attempts + 1)}
    delays |= {to_ms(d) for d in retry.wait_delays()}
    return sorted(d for d in delays if d > 0)
