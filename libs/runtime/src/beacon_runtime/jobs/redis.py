"""Redis job store: the gateway's job records shared by every gateway process.

Keys (``ns`` is the ``namespace`` argument, "beacon" by default)::

    <ns>:job:<job_id>         JSON of the JobRecord, exactly as pydantic serialised it
    <ns>:jobfp:<fingerprint>  job_id of the job currently holding that fingerprint
    <ns>:jobs:alive           sorted set: started, unfinished job ids by last heartbeat

Every write sets the key's TTL to ``ttl_s``, so a job lives ``ttl_s`` after its last change.

Atomicity. Both writes run inside Lua scripts, which Redis executes without interleaving any
other command:

* ``create`` checks the fingerprint, reads the holder's status and stores job + fingerprint
  in one script, so N concurrent identical requests create exactly one job.
* ``transition`` computes the new document in Python (pydantic serialises it, so numbers,
  empty objects and empty arrays survive untouched; Lua never re-encodes JSON) and applies
  it with a compare-and-set script that writes only if the stored document is still byte for
  byte the one the new document was computed from. On a conflict the script returns the
  current document and the rank check is simply redone against it, so of two racing
  terminal transitions exactly one applies and the other is reported as ignored.

The scripts touch the key of the fingerprint's holder, which is not declared in KEYS; that is
fine on a standalone Redis or a replica set but not on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from beacon_contracts.events import JobError, utcnow
from beacon_contracts.jobs import JobRecord, JobStatus
from beacon_runtime.jobs.port import JobStore, JobStoreUnavailable

T = TypeVar("T")

# KEYS[1] job key, KEYS[2] fingerprint key (optional)
# ARGV[1] job JSON, ARGV[2] ttl seconds, ARGV[3] job_id, ARGV[4] job key prefix
# Returns {1} when stored, {0, existing JSON} when an unfinished job holds the fingerprint.
_CREATE_LUA = """
local ttl = tonumber(ARGV[2])
if KEYS[2] then
  local holder = redis.call('GET', KEYS[2])
  if holder then
    local existing = redis.call('GET', ARGV[4] .. holder)
    if existing then
      local ok, doc = pcall(cjson.decode, existing)
      if ok and type(doc) == 'table' then
        local status = doc['status']
        if status ~= 'completed' and status ~= 'failed' then
          return {0, existing}
        end
      end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
end
return {1}
"""

# KEYS[1] job key, KEYS[2] fingerprint key (optional)
# ARGV[1] expected current JSON, ARGV[2] new JSON, ARGV[3] ttl seconds, ARGV[4] job_id,
# ARGV[5] "1" when the new status is terminal
# Returns {-1} for a missing job, {0, current} on conflict, {1, new} when written.
_TRANSITION_CAS_LUA = """
local current = redis.call('GET', KEYS[1])
if not current then
  return {-1}
end
if current ~= ARGV[1] then
  return {0, current}
end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[4] then
  if ARGV[5] == '1' then
    redis.call('DEL', KEYS[2])
  else
    redis.call('EXPIRE', KEYS[2], ttl)
  end
end
return {1, ARGV[2]}
"""

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)

# Each conflict means another writer raised the job's rank (at most twice per job), so a
# handful of attempts is plenty; the bound only guards against a pathological writer.
_MAX_CAS_ATTEMPTS = 16


class RedisJobStore(JobStore):
    def __init__(
        self,
        url: str,
        *,
        ttl_s: int = 24 * 3600,
        namespace: str = "beacon",
        socket_timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        max_connections: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._url = url
        self._ttl_s = int(ttl_s)
        self._ns = namespace
        self._clock = clock  # heartbeats: the same wall clock on every gateway replica
        # Every store operation is bounded as a whole, by socket_timeout_s +
        # connect_timeout_s: waiting for a free connection, connecting, sending and reading
        # (`_call`). That is one timer per operation instead of redis-py's socket timeouts,
        # which start a task for every command written. The semaphore does what
        # BlockingConnectionPool does (a burst beyond max_connections waits for a free
        # connection instead of failing at once) for a fraction of its per-command cost.
        # Together ~3 % of POST /generate's instructions (measured with callgrind,
        # bench/results/report_api.md). A timed-out command leaves no half-read reply
        # behind: redis-py drops a connection whose command was interrupted.
        self._op_timeout_s = socket_timeout_s + connect_timeout_s
        self._slots = asyncio.Semaphore(max_connections)
        pool = aioredis.ConnectionPool.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=connect_timeout_s,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
            max_connections=max_connections,
        )
        self._client = aioredis.Redis(connection_pool=pool)
        self._create_script = self._client.register_script(_CREATE_LUA)
        self._cas_script = self._client.register_script(_TRANSITION_CAS_LUA)

    # keys -------------------------------------------------------------------------------

    def _job_prefix(self) -> str:
        return f"{self._ns}:job:"

    def job_key(self, job_id: str) -> str:
        return f"{self._ns}:job:{job_id}"

    def fingerprint_key(self, fingerprint: str) -> str:
        return f"{self._ns}:jobfp:{fingerprint}"

    def alive_key(self) -> str:
        return f"{self._ns}:jobs:alive"

    # plumbing ---------------------------------------------------------------------------

    async def _call(self, op: Coroutine[Any, Any, T]) -> T:
        try:
            async with asyncio.timeout(self._op_timeout_s), self._slots:
                return await op
        except _UNAVAILABLE as exc:
            raise JobStoreUnavailable(
                f"job store at {self._safe_url()} unavailable: {exc}"
            ) from exc
        finally:
            op.close()  # a no-op once it ran; silences one the timeout stopped before it began

    def _safe_url(self) -> str:
        """The URL without credentials, for error messages."""
        scheme, sep, rest = self._url.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else self._url

    # JobStore ---------------------------------------------------------------------------

    async def create(self, job: JobRecord) -> tuple[JobRecord, bool]:
        keys = [self.job_key(job.job_id)]
        if job.fingerprint:
            keys.append(self.fingerprint_key(job.fingerprint))
        reply = await self._call(
            self._create_script(
                keys=keys,
                args=[job.model_dump_json(), self._ttl_s, job.job_id, self._job_prefix()],
            )
        )
        if int(reply[0]):
            return job, True  # stored exactly as given: the reply does not echo it back
        return JobRecord.model_validate_json(reply[1]), False

    async def get(self, job_id: str) -> JobRecord | None:
        raw = await self._call(self._client.get(self.job_key(job_id)))
        return JobRecord.model_validate_json(raw) if raw is not None else None

    async def transition(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        error: JobError | None = None,
    ) -> tuple[JobRecord | None, bool]:
        status = JobStatus(status)
        key = self.job_key(job_id)
        raw = await self._call(self._client.get(key))
        for _ in range(_MAX_CAS_ATTEMPTS):
            if raw is None:
                return None, False
            current = JobRecord.model_validate_json(raw)
            if status.rank <= current.status.rank:
                return current, False
            updated = current.model_copy(
                update={"status": status, "result": result, "error": error, "updated_at": utcnow()}
            )
            new_raw = updated.model_dump_json()
            keys = [key]
            if current.fingerprint:
                keys.append(self.fingerprint_key(current.fingerprint))
            reply = await self._call(
                self._cas_script(
                    keys=keys,
                    args=[raw, new_raw, self._ttl_s, job_id, "1" if status.is_terminal else "0"],
                )
            )
            outcome = int(reply[0])
            if outcome == 1:
                if status.is_terminal:
                    # Not in the script: a member left behind by a crash here is dropped
                    # by the next stalled() that meets it.
                    await self._call(self._client.zrem(self.alive_key(), job_id))
                return JobRecord.model_validate_json(reply[1]), True
            raw = None if outcome == -1 else reply[1]
        raise RuntimeError(
            f"job {job_id}: gave up after {_MAX_CAS_ATTEMPTS} conflicting concurrent writes"
        )

    async def heartbeat(self, job_id: str) -> None:
        job = await self.get(job_id)
        if job is not None and not job.status.is_terminal:
            await self._call(self._client.zadd(self.alive_key(), {job_id: self._clock()}))

    async def stalled(self, idle_s: float, limit: int = 100) -> list[JobRecord]:
        ids = await self._call(self._client.zrangebyscore(
            self.alive_key(), "-inf", self._clock() - idle_s, start=0, num=limit))
        found = []
        for job_id in ids:
            job = await self.get(job_id)
            if job is None or job.status.is_terminal:
                await self._call(self._client.zrem(self.alive_key(), job_id))
                continue
            found.append(job)
        return found

    async def ping(self) -> bool:
        try:
            return bool(await self._call(self._client.ping()))  # waits its turn, bounded
        except Exception:  # noqa: BLE001 - a health probe reports, it never raises
            return False

    async def close(self) -> None:
        await self._client.aclose()
        await self._client.connection_pool.disconnect()  # a pool we passed in is ours to close
