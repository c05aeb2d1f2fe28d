"""Effectively once: a message's side effects happen once per event id, however often the
broker delivers it (a redelivery after a crash, a duplicate publish, a replica race).

The bus wraps every durable subscription's handler in :func:`guard` when it was given a
:class:`ProcessedEvents` ledger (``beacon_runtime.factory.build_bus`` always gives one: Redis
when ``REDIS_URL`` is set, shared by every replica of a consumer, else this module's
in-memory twin). Per delivery the guard:

1. records a ``JobCancelled`` (and never calls the handler with it): the command queues of
   every worker kind are bound to ``job.cancelled``, so whichever replica takes it, the
   cancellation is in the ledger every replica reads;
2. acknowledges a ``JobRequested`` whose job was cancelled without running it, publishing
   its ``JobCompleted(failed, CANCELLED)`` (ignored when the gateway already failed it);
3. claims ``<consumer>:<event_id>`` with a lease: a duplicate finds it ``DONE`` and is
   acknowledged without running; one that finds another delivery ``BUSY`` with it waits
   (``RetryLater``) until that one finished or its lease ran out (its worker died);
4. keeps the lease alive while the handler runs, then marks the id done for ``done_ttl_s``,
   or releases it when the handler raised (the bus's retry runs it again);
5. stops a request running in this process when this process hears its job's cancel
   (the request ahead of its cancel in the queue: a lost confirm), marks it done and
   publishes its CANCELLED failure. A cancel taken by another replica of the same kind
   only stops later deliveries (rag-query also listens on a per-replica queue).

What remains: a worker killed mid-handler leaves its lease to expire, and the redelivery
runs the handler again from the start; the side effect that was under way (a model call)
happens twice. Nothing after a crash can know whether it finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum

from collections.abc import Awaitable, Callable

from beacon_contracts.events import Envelope
from beacon_runtime.bus.job_failures import failure_of_cancelled
from beacon_runtime.bus.port import Handler, RetryLater
from beacon_runtime.errors import DependencyUnavailable
from beacon_runtime.logs import get_logger
from beacon_runtime.metrics import BUS_ONCE

log = get_logger(__name__)


class Claim(Enum):
    ACQUIRED = "acquired"  # this delivery runs the handler
    DONE = "done"  # an earlier delivery completed it: a duplicate
    BUSY = "busy"  # another delivery holds a live lease on it


class ProcessedEventsUnavailable(DependencyUnavailable):
    """The ledger's backend cannot be reached."""


class ProcessedEvents(ABC):
    """The worker's record of handled event ids and cancelled jobs. Keys are opaque
    strings; entries expire on their own (leases, done marks, cancellations)."""

    @abstractmethod
    async def claim(self, key: str, token: str, lease_s: float) -> Claim:
        """Take `key` for `token` for `lease_s` unless it is done or leased to another
        token (the same token renews its lease)."""

    @abstractmethod
    async def renew(self, key: str, token: str, lease_s: float) -> bool:
        """Extend the lease if `token` still holds it."""

    @abstractmethod
    async def finish(self, key: str, token: str, ttl_s: float) -> None:
        """Mark `key` done for `ttl_s` (whoever holds it now: the work is done)."""

    @abstractmethod
    async def release(self, key: str, token: str) -> None:
        """Give the key up if `token` holds it, so a retry can claim it at once."""

    @abstractmethod
    async def cancel(self, job_id: str, ttl_s: float) -> None: ...

    @abstractmethod
    async def is_cancelled(self, job_id: str) -> bool: ...

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class OncePolicy:
    lease_s: float = 15.0  # a dead worker's claim frees after this
    done_ttl_s: float = 24 * 3600.0  # duplicates are recognised this long (a job's life)
    cancel_ttl_s: float = 24 * 3600.0

    @property
    def renew_every_s(self) -> float:
        return max(0.05, self.lease_s / 3)


class InMemoryProcessedEvents(ProcessedEvents):
    """The twin, for embedded mode (one process) and tests; the clock is injectable."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}  # key -> (value, expires_at)

    def _get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry[0]

    def _set(self, key: str, value: str, ttl_s: float) -> None:
        self._entries[key] = (value, self._clock() + ttl_s)

    async def claim(self, key: str, token: str, lease_s: float) -> Claim:
        value = self._get(key)
        if value == "done":
            return Claim.DONE
        if value is not None and value != token:
            return Claim.BUSY
        self._set(key, token, lease_s)
        return Claim.ACQUIRED

    async def renew(self, key: str, token: str, lease_s: float) -> bool:
        if self._get(key) != token:
            return False
        self._set(key, token, lease_s)
        return True

    async def finish(self, key: str, token: str, ttl_s: float) -> None:
        self._set(key, "done", ttl_s)

    async def release(self, key: str, token: str) -> None:
        if self._get(key) == token:
            del self._entries[key]

    async def cancel(self, job_id: str, ttl_s: float) -> None:
        self._set(f"cancelled:{job_id}", "1", ttl_s)

    async def is_cancelled(self, job_id: str) -> bool:
        return self._get(f"cancelled:{job_id}") is not None


def guard(
    consumer: str, handler: Handler, ledger: ProcessedEvents, policy: OncePolicy,
    publish: Callable[[Envelope], Awaitable[None]],
) -> Handler:
    """`handler`, run at most once to completion per event id for `consumer`."""

    # Cancellations this process has been handed, noted before the first await: deliveries
    # of one queue start in order but run concurrently, so a cancel delivered just before
    # its request might otherwise not be in the ledger yet when the request looks.
    heard: dict[str, None] = {}
    # Requests running here, by job id: a cancel this process hears stops them mid-run.
    running: dict[str, asyncio.Task] = {}
    stopped: set[asyncio.Task] = set()

    async def guarded(envelope: Envelope) -> None:
        job_id = envelope.payload.get("job_id")
        try:
            if envelope.type == "JobCancelled":
                if isinstance(job_id, str):
                    heard[job_id] = None
                    while len(heard) > 10_000:
                        del heard[next(iter(heard))]
                    # Queries stop cooperatively, through rag-query's own per-replica
                    # cancel queue (it records and streams the cancellation).
                    task = running.get(job_id) if envelope.payload.get("kind") != "query" else None
                    if task is not None:
                        stopped.add(task)
                        task.cancel()
                    await ledger.cancel(job_id, policy.cancel_ttl_s)
                    log.info("bus.cancel_recorded", consumer=consumer, job_id=job_id,
                             stopped_running=task is not None)
                return
            if envelope.type == "JobRequested" and isinstance(job_id, str) and (
                job_id in heard or await ledger.is_cancelled(job_id)
            ):
                log.info("bus.cancelled_skipped", consumer=consumer, job_id=job_id)
                BUS_ONCE.labels(consumer, "cancelled").inc()
                if (failure := failure_of_cancelled(envelope)) is not None:
                    await publish(failure)  # raises: retried, the job must end
                return
            key = f"{consumer}:{envelope.event_id}"
            token = uuid.uuid4().hex
            claim = await ledger.claim(key, token, policy.lease_s)
        except ProcessedEventsUnavailable as exc:
            raise RetryLater(f"processed-events ledger unavailable: {exc}") from exc
        if claim is Claim.DONE:
            log.info("bus.duplicate_skipped", consumer=consumer, event_id=str(envelope.event_id))
            BUS_ONCE.labels(consumer, "duplicate").inc()
            return
        if claim is Claim.BUSY:
            BUS_ONCE.labels(consumer, "busy").inc()
            raise RetryLater(f"event {envelope.event_id} is being handled by another delivery")
        BUS_ONCE.labels(consumer, "run").inc()
        keeper = asyncio.create_task(_keep_lease(ledger, key, token, policy))
        # The handler runs as a child task (same context) so that a cancel can stop it
        # without stopping this delivery, which must still be settled.
        work = asyncio.ensure_future(handler(envelope))
        request_of = job_id if envelope.type == "JobRequested" and isinstance(job_id, str) else None
        if request_of is not None:
            running[request_of] = work
        try:
            await work
        except asyncio.CancelledError:
            keeper.cancel()
            if work not in stopped:  # this delivery itself was cancelled (shutdown)
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.shield(ledger.release(key, token))
                raise
            log.info("bus.cancelled_mid_run", consumer=consumer, job_id=request_of)
            BUS_ONCE.labels(consumer, "cancelled").inc()
            await _finish(ledger, key, token, policy, consumer)
            if (failure := failure_of_cancelled(envelope)) is not None:
                await publish(failure)
            return
        except BaseException:
            keeper.cancel()
            # Shielded: a cancelled handler (shutdown, lost connection) must still free its
            # claim, or the redelivery would wait out the lease.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(ledger.release(key, token))
            raise
        finally:
            stopped.discard(work)
            if request_of is not None and running.get(request_of) is work:
                del running[request_of]
        keeper.cancel()
        await _finish(ledger, key, token, policy, consumer)

    return guarded


async def _finish(
    ledger: ProcessedEvents, key: str, token: str, policy: OncePolicy, consumer: str
) -> None:
    try:
        await ledger.finish(key, token, policy.done_ttl_s)
    except Exception as exc:  # noqa: BLE001
        # The work is done and acknowledged either way; without the mark, only a
        # redelivery within the lease would be recognised as a duplicate.
        log.warning("bus.finish_unrecorded", consumer=consumer, error=repr(exc))


async def _keep_lease(ledger: ProcessedEvents, key: str, token: str, policy: OncePolicy) -> None:
    while True:
        await asyncio.sleep(policy.renew_every_s)
        try:
            if not await ledger.renew(key, token, policy.lease_s):
                log.warning("bus.lease_lost", key=key)
                return
        except Exception as exc:  # noqa: BLE001 - the next renewal may succeed
            log.warning("bus.lease_renew_failed", key=key, error=repr(exc))
