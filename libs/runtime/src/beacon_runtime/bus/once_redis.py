"""Redis ledger of processed event ids, shared by every replica of a consumer.

Keys (``ns`` is the namespace)::

    <ns>:once:<consumer>:<event_id>   "done", or the token of the delivery holding the lease
    <ns>:once:cancelled:<job_id>      present while the job is cancelled

Claims and releases are Lua scripts, so two replicas never both take a key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from beacon_runtime.bus.once import Claim, ProcessedEvents, ProcessedEventsUnavailable

T = TypeVar("T")

# KEYS[1] key; ARGV[1] token, ARGV[2] lease ms. Returns 1 acquired, 2 done, 0 busy.
_CLAIM_LUA = """
local value = redis.call('GET', KEYS[1])
if value == 'done' then return 2 end
if value and value ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS[1] key; ARGV[1] token, ARGV[2] lease ms (0: delete). Returns 1 when the token held it.
_IF_HELD_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('DEL', KEYS[1])
end
return 1
"""

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)


class RedisProcessedEvents(ProcessedEvents):
    def __init__(self, url: str, *, namespace: str = "beacon", timeout_s: float = 2.0) -> None:
        self._ns = namespace
        self._timeout_s = timeout_s
        self._client = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=timeout_s
        )
        self._claim = self._client.register_script(_CLAIM_LUA)
        self._if_held = self._client.register_script(_IF_HELD_LUA)

    def key(self, key: str) -> str:
        return f"{self._ns}:once:{key}"

    async def _call(self, op: Coroutine[Any, Any, T]) -> T:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await op
        except _UNAVAILABLE as exc:
            raise ProcessedEventsUnavailable(f"processed-events store unavailable: {exc}") from exc
        finally:
            op.close()

    async def claim(self, key: str, token: str, lease_s: float) -> Claim:
        reply = int(await self._call(self._claim(keys=[self.key(key)], args=[token, _ms(lease_s)])))
        return {1: Claim.ACQUIRED, 2: Claim.DONE}.get(reply, Claim.BUSY)

    async def renew(self, key: str, token: str, lease_s: float) -> bool:
        return bool(await self._call(self._if_held(keys=[self.key(key)], args=[token, _ms(lease_s)])))

    async def finish(self, key: str, token: str, ttl_s: float) -> None:
        await self._call(self._client.set(self.key(key), "done", px=_ms(ttl_s)))

    async def release(self, key: str, token: str) -> None:
        await self._call(self._if_held(keys=[self.key(key)], args=[token, 0]))

    async def cancel(self, job_id: str, ttl_s: float) -> None:
        await self._call(self._client.set(self.key(f"cancelled:{job_id}"), "1", px=_ms(ttl_s)))

    async def is_cancelled(self, job_id: str) -> bool:
        return bool(await self._call(self._client.exists(self.key(f"cancelled:{job_id}"))))

    async def ping(self) -> bool:
        try:
            return bool(await self._call(self._client.ping()))
        except Exception:  # noqa: BLE001 - a probe reports, never raises
            return False

    async def close(self) -> None:
        await self._client.aclose()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
