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
    request; a revoked key stops working within that time on other replicas, at once here.

    A key's owner (what jobs, session drafts and customer material belong to) is its record,
    not the key: `key:<id>` for a database key, `static:<n>` for the n-th key of API_KEYS, so
    replacing a key's secret in place (same record, same position) keeps what it owns."""

    def __init__(
        self, static_keys: list[str], repo: IdentityRepository | None = None, cache_s: float = 30.0
    ) -> None:
        self._static = [hashlib.sha256(k.encode()).digest() for k in static_keys]
        self._repo = repo
        self._cache_s = cache_s
        self._valid_until: dict[str, tuple[float, str]] = {}

    async def is_valid(self, presented: str | None) -> bool:
        return await self.owner_of(presented) is not None

    async def owner_of(self, presented: str | None) -> str | None:
        """The owner id of a valid key, None for anything else."""
        if not presented or len(presented) > 512:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        # Compare against every static key so timing says nothing about which one matched.
        matches = [hmac.compare_digest(digest, known) for known in self._static]
        if any(matches):
            return f"static:{matches.index(True)}"
        if self._repo is None:
            return None
        hashed = digest.hex()
        cached = self._valid_until.get(hashed)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        record = await self._repo.api_key_by_hash(hashed)
        if record is None or record.revoked_at is not None:
            self._valid_until.pop(hashed, None)
            return None
        owner = f"key:{record.id}"
        self._valid_until[hashed] = (time.monotonic() + self._cache_s, owner)
        return owner

    def forget(self, hashed: str) -> None:
        self._valid_until.pop(hashed, None)
