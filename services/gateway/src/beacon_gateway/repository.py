"""Identity records the gateway owns: users, refresh-token families, report-API keys.

Two adapters with one contract (tests/contract/test_identity_repository_contract.py):
Postgres (schema "gateway", SQLAlchemy Core over asyncpg) and in memory for embedded mode.
All SQL lives here; callers never commit, each method is its own transaction.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy import func, select, text

from beacon_contracts.events import utcnow
from beacon_gateway.tables import api_keys, refresh_tokens, users
from beacon_runtime.db import PostgresStore

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "gateway"


class Role(StrEnum):
    USER = "user"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class EmailTaken(Exception):
    pass


@dataclass(frozen=True)
class User:
    id: int
    email: str
    full_name: str
    role: Role
    daily_query_limit: int
    password_hash: str
    disabled: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class NewUser:
    email: str
    full_name: str
    role: Role
    daily_query_limit: int
    password_hash: str


@dataclass(frozen=True)
class UserChanges:
    full_name: str | None = None
    role: Role | None = None
    daily_query_limit: int | None = None

    def values(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class RefreshToken:
    jti: str
    family_id: str
    user_id: int
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    key_hash: str
    prefix: str
    created_by: int | None
    created_at: datetime
    revoked_at: datetime | None = None


class IdentityRepository(ABC):
    @abstractmethod
    async def add_user(self, user: NewUser) -> User:
        """Raises EmailTaken if the (case-folded) email exists."""

    @abstractmethod
    async def user_by_email(self, email: str) -> User | None: ...

    @abstractmethod
    async def user_by_id(self, user_id: int) -> User | None: ...

    @abstractmethod
    async def list_users(self, limit: int, offset: int) -> tuple[int, list[User]]: ...

    @abstractmethod
    async def set_disabled(self, user_id: int, disabled: bool) -> User | None: ...

    @abstractmethod
    async def update_user(self, user_id: int, changes: UserChanges) -> User | None:
        """Apply the fields of `changes` that are not None; None if the user is unknown."""

    @abstractmethod
    async def add_refresh_token(self, token: RefreshToken) -> None: ...

    @abstractmethod
    async def use_refresh_token(self, jti: str) -> RefreshToken | None:
        """Atomically mark the token used. Returns it as it was *before* this call, so the
        caller sees a reuse (used_at or revoked_at already set); None if unknown."""

    @abstractmethod
    async def revoke_family(self, family_id: str) -> int: ...

    @abstractmethod
    async def revoke_user_tokens(self, user_id: int) -> int:
        """Revoke every refresh token of the user (every session)."""

    @abstractmethod
    async def add_api_key(self, name: str, key_hash: str, prefix: str, created_by: int | None) -> ApiKey: ...

    @abstractmethod
    async def api_key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    @abstractmethod
    async def list_api_keys(self) -> list[ApiKey]: ...

    @abstractmethod
    async def revoke_api_key(self, key_id: int) -> ApiKey | None: ...

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> bool:
        return True


def normalise_email(email: str) -> str:
    return email.strip().casefold()


class InMemoryIdentityRepository(IdentityRepository):
    def __init__(self) -> None:
        self._users: dict[int, User] = {}
        self._tokens: dict[str, RefreshToken] = {}
        self._keys: dict[int, ApiKey] = {}
        self._user_ids = itertools.count(1)
        self._key_ids = itertools.count(1)

    async def add_user(self, user: NewUser) -> User:
        email = normalise_email(user.email)
        if await self.user_by_email(email):
            raise EmailTaken(email)
        stored = User(
            id=next(self._user_ids), email=email, full_name=user.full_name, role=user.role,
            daily_query_limit=user.daily_query_limit, password_hash=user.password_hash,
            created_at=utcnow(),
        )
        self._users[stored.id] = stored
        return stored

    async def user_by_email(self, email: str) -> User | None:
        email = normalise_email(email)
        return next((u for u in self._users.values() if u.email == email), None)

    async def user_by_id(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    async def list_users(self, limit: int, offset: int) -> tuple[int, list[User]]:
        users = sorted(self._users.values(), key=lambda u: u.id)
        return len(users), users[offset : offset + limit]

    async def set_disabled(self, user_id: int, disabled: bool) -> User | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        self._users[user_id] = replace(user, disabled=disabled)
        return self._users[user_id]

    async def update_user(self, user_id: int, changes: UserChanges) -> User | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        self._users[user_id] = replace(user, **changes.values())
        return self._users[user_id]

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self._tokens[token.jti] = token

    async def use_refresh_token(self, jti: str) -> RefreshToken | None:
        token = self._tokens.get(jti)
        if token is None:
            return None
        if token.used_at is None:
            self._tokens[jti] = replace(token, used_at=utcnow())
        return token

    async def revoke_family(self, family_id: str) -> int:
        now, count = utcnow(), 0
        for jti, token in self._tokens.items():
            if token.family_id == family_id and token.revoked_at is None:
                self._tokens[jti] = replace(token, revoked_at=now)
                count += 1
        return count

    async def revoke_user_tokens(self, user_id: int) -> int:
        now, count = utcnow(), 0
        for jti, token in self._tokens.items():
            if token.user_id == user_id and token.revoked_at is None:
                self._tokens[jti] = replace(token, revoked_at=now)
                count += 1
        return count

    async def add_api_key(self, name: str, key_hash: str, prefix: str, created_by: int | None) -> ApiKey:
        key = ApiKey(next(self._key_ids), name, key_hash, prefix, created_by, utcnow())
        self._keys[key.id] = key
        return key

    async def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self._keys.values() if k.key_hash == key_hash), None)

    async def list_api_keys(self) -> list[ApiKey]:
        return sorted(self._keys.values(), key=lambda k: k.id)

    async def revoke_api_key(self, key_id: int) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            return None
        if key.revoked_at is None:
            self._keys[key_id] = replace(key, revoked_at=utcnow())
        return self._keys[key_id]


class PostgresIdentityRepository(PostgresStore, IdentityRepository):
    def __init__(self, database_url: str, schema: str = SCHEMA, *,
                 migrate_on_start: bool = True) -> None:
        super().__init__(database_url, schema, migrations=MIGRATIONS,
                         migrate_on_start=migrate_on_start)

    async def add_user(self, user: NewUser) -> User:
        try:
            rows = await self._run(
                users.insert()
                .values(
                    email=normalise_email(user.email), full_name=user.full_name, role=user.role.value,
                    daily_query_limit=user.daily_query_limit, password_hash=user.password_hash,
                )
                .returning(*users.c),
                write=True,
            )
        except sqlalchemy.exc.IntegrityError as exc:
            raise EmailTaken(user.email) from exc
        return _user(rows[0])

    async def user_by_email(self, email: str) -> User | None:
        rows = await self._run(users.select().where(users.c.email == normalise_email(email)))
        return _user(rows[0]) if rows else None

    async def user_by_id(self, user_id: int) -> User | None:
        rows = await self._run(users.select().where(users.c.id == user_id))
        return _user(rows[0]) if rows else None

    async def list_users(self, limit: int, offset: int) -> tuple[int, list[User]]:
        total = (await self._run(select(func.count()).select_from(users)))[0]["count_1"]
        rows = await self._run(users.select().order_by(users.c.id).limit(limit).offset(offset))
        return total, [_user(r) for r in rows]

    async def set_disabled(self, user_id: int, disabled: bool) -> User | None:
        rows = await self._run(
            users.update().where(users.c.id == user_id).values(disabled=disabled).returning(*users.c),
            write=True,
        )
        return _user(rows[0]) if rows else None

    async def update_user(self, user_id: int, changes: UserChanges) -> User | None:
        values = changes.values()
        if not values:
            return await self.user_by_id(user_id)
        if "role" in values:
            values["role"] = values["role"].value
        rows = await self._run(
            users.update().where(users.c.id == user_id).values(**values).returning(*users.c),
            write=True,
        )
        return _user(rows[0]) if rows else None

    async def add_refresh_token(self, token: RefreshToken) -> None:
        await self._run(
            refresh_tokens.insert().values(
                jti=token.jti, family_id=token.family_id, user_id=token.user_id,
                expires_at=token.expires_at,
            ),
            write=True,
        )

    async def use_refresh_token(self, jti: str) -> RefreshToken | None:
        # One statement: mark used and return the row as it was, so two concurrent refreshes
        # with the same token cannot both see it unused.
        rows = await self._run(
            text(
                "UPDATE refresh_tokens AS t SET used_at = COALESCE(t.used_at, now()) "
                "FROM (SELECT jti, used_at FROM refresh_tokens WHERE jti = :jti FOR UPDATE) AS old "
                "WHERE t.jti = old.jti "
                "RETURNING t.jti, t.family_id, t.user_id, t.expires_at, old.used_at, t.revoked_at"
            ).bindparams(jti=jti),
            write=True,
        )
        return RefreshToken(**rows[0]) if rows else None

    async def revoke_family(self, family_id: str) -> int:
        return await self._run(
            refresh_tokens.update()
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=func.now()),
            write=True,
        )

    async def revoke_user_tokens(self, user_id: int) -> int:
        return await self._run(
            refresh_tokens.update()
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=func.now()),
            write=True,
        )

    async def add_api_key(self, name: str, key_hash: str, prefix: str, created_by: int | None) -> ApiKey:
        rows = await self._run(
            api_keys.insert()
            .values(name=name, key_hash=key_hash, prefix=prefix, created_by=created_by)
            .returning(*api_keys.c),
            write=True,
        )
        return ApiKey(**rows[0])

    async def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = await self._run(api_keys.select().where(api_keys.c.key_hash == key_hash))
        return ApiKey(**rows[0]) if rows else None

    async def list_api_keys(self) -> list[ApiKey]:
        return [ApiKey(**r) for r in await self._run(api_keys.select().order_by(api_keys.c.id))]

    async def revoke_api_key(self, key_id: int) -> ApiKey | None:
        rows = await self._run(
            api_keys.update()
            .where(api_keys.c.id == key_id)
            .values(revoked_at=func.coalesce(api_keys.c.revoked_at, func.now()))
            .returning(*api_keys.c),
            write=True,
        )
        return ApiKey(**rows[0]) if rows else None


def _user(row) -> User:
    return User(**{**row, "role": Role(row["role"])})
