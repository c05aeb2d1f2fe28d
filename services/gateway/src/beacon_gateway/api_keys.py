"""Report-API keys: static ones from API_KEYS and those admins create (stored as hashes)."""

from __future__ import annotations

import hashlib
import hmac
import time

from beacon_gateway.repository import IdentityRepository


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyVerifier:
    """Static keys are compared in constant time. Database keys are looked up by hash and a
    positive answer is cached for `cache_s` seconds, so polling /status costs no query per
    request; a revoked key stops working within that time on other replicas, at once here."""

    def __init__(
        self, static_keys: list[str], repo: IdentityRepository | None = None, cache_s: float = 30.0
    ) -> None:
        self._static = [hashlib.sha256(k.encode()).digest() for k in static_keys]
        self._repo = repo
        self._cache_s = cache_s
        self._valid_until: dict[str, float] = {}

    async def is_valid(self, presented: str | None) -> bool:
        if not presented or len(presented) > 512:
            return False
        digest = hashlib.sha256(presented.encode()).digest()
        # Compare against every static key so timing says nothing about which one matched.
        if any([hmac.compare_digest(digest, known) for known in self._static]):
            return True
        if self._repo is None:
            return False
        hashed = digest.hex()
        if self._valid_until.get(hashed, 0.0) > time.monotonic():
            return True
        record = await self._repo.api_key_by_hash(hashed)
        if record is None or record.revoked_at is not None:
            self._valid_until.pop(hashed, None)
            return False
        self._valid_until[hashed] = time.monotonic() + self._cache_s
        return True

    def forget(self, hashed: str) -> None:
        self._valid_until.pop(hashed, None)
