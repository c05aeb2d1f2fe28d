"""Identity: Argon2 passwords, short-lived JWT access tokens, rotating refresh tokens.

Refresh tokens are single-use and belong to a family (one login). Presenting a token that
was already used means it leaked: the whole family is revoked, and the legitimate holder
must log in again. Logout revokes the family too. Revoking a family (or all of a user's,
when an admin disables the user) also stops its access tokens at once on every replica,
through the revocation entries every authenticated request checks (revocations.py).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from beacon_gateway.repository import IdentityRepository, NewUser, RefreshToken, Role, User
from beacon_gateway.revocations import InMemoryRevocations, Revocations

ALGORITHM = "HS256"


class InvalidCredentials(Exception):
    """Wrong password or unknown email: deliberately indistinguishable."""


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: Role
    family_id: str
    issued_at: int  # epoch seconds


class AuthService:
    def __init__(
        self,
        repo: IdentityRepository,
        *,
        secret: str,
        access_ttl_s: int = 3600,
        refresh_ttl_s: int = 7 * 24 * 3600,
        issuer: str = "beacon",
        argon2_time_cost: int = 3,
        argon2_memory_kib: int = 65536,
        revocations: Revocations | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repo = repo
        self.revocations = revocations or InMemoryRevocations(access_ttl_s)
        self._clock = clock  # when tokens are issued; PyJWT checks expiry against real time
        self._secret = secret
        self._access_ttl = access_ttl_s
        self._refresh_ttl = refresh_ttl_s
        self._issuer = issuer
        self._hasher = PasswordHash(
            (Argon2Hasher(time_cost=argon2_time_cost, memory_cost=argon2_memory_kib),)
        )
        self._dummy_hash: str | None = None

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    async def create_user(
        self, email: str, password: str, full_name: str, role: Role, daily_query_limit: int
    ) -> User:
        return await self.repo.add_user(
            NewUser(email, full_name, role, daily_query_limit, self.hash_password(password))
        )

    async def login(self, email: str, password: str) -> TokenPair:
        user = await self.repo.user_by_email(email)
        if user is None:
            # Spend the same Argon2 work as for a real user: no timing oracle for emails.
            self._hasher.verify(password, self._dummy())
            raise InvalidCredentials()
        valid, _ = self._hasher.verify_and_update(password, user.password_hash)
        if not valid or user.disabled:
            raise InvalidCredentials()
        return await self._issue(user, family_id=uuid.uuid4().hex)

    async def refresh(self, refresh_token: str) -> TokenPair:
        claims = self._decode(refresh_token, "refresh")
        stored = await self.repo.use_refresh_token(claims["jti"])
        if stored is None:
            raise InvalidToken("unknown refresh token")
        if stored.used_at is not None or stored.revoked_at is not None:
            await self.end_session(stored.family_id)
            raise InvalidToken("refresh token reuse detected; session revoked")
        user = await self.repo.user_by_id(stored.user_id)
        if user is None or user.disabled:
            await self.end_session(stored.family_id)
            raise InvalidToken("user is disabled")
        return await self._issue(user, family_id=stored.family_id)

    async def logout(self, principal: Principal) -> None:
        await self.end_session(principal.family_id)

    async def logout_with_refresh(self, refresh_token: str) -> None:
        claims = self._decode(refresh_token, "refresh")
        await self.end_session(claims["fam"])

    async def end_session(self, family_id: str) -> None:
        """One login's refresh tokens and access tokens stop working."""
        await self.repo.revoke_family(family_id)
        await self.revocations.revoke_family(family_id)

    async def end_user_sessions(self, user_id: int) -> None:
        """Every session of the user ends: tokens issued until now stop working."""
        await self.repo.revoke_user_tokens(user_id)
        await self.revocations.revoke_user(user_id, up_to=int(self._clock().timestamp()))

    def authenticate(self, access_token: str) -> Principal:
        claims = self._decode(access_token, "access")
        return Principal(user_id=int(claims["sub"]), role=Role(claims["role"]),
                         family_id=claims["fam"], issued_at=int(claims["iat"]))

    async def current_user(self, principal: Principal) -> User:
        if await self.revocations.is_revoked(principal.family_id, principal.user_id,
                                             principal.issued_at):
            raise InvalidToken("session has ended")
        user = await self.repo.user_by_id(principal.user_id)
        if user is None or user.disabled:
            raise InvalidToken("user is disabled")
        return user

    async def _issue(self, user: User, family_id: str) -> TokenPair:
        now = self._clock()
        common = {"sub": str(user.id), "iss": self._issuer, "iat": now, "fam": family_id}
        access = self._encode(
            {**common, "typ": "access", "role": user.role.value, "jti": uuid.uuid4().hex,
             "exp": now + timedelta(seconds=self._access_ttl)}
        )
        jti = uuid.uuid4().hex
        expires = now + timedelta(seconds=self._refresh_ttl)
        refresh = self._encode({**common, "typ": "refresh", "jti": jti, "exp": expires})
        await self.repo.add_refresh_token(RefreshToken(jti, family_id, user.id, expires))
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=self._access_ttl)

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, expected_type: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "jti", "typ", "fam"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid token") from exc
        if claims.get("typ") != expected_type:
            raise InvalidToken(f"not an {expected_type} token")
        return claims

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hash_password(secrets.token_urlsafe(16))
        return self._dummy_hash
