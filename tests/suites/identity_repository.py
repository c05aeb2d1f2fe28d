"""One contract for both identity repositories: in memory and Postgres."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from pgtools import drop_schema

from beacon_contracts.events import utcnow
from beacon_gateway.repository import (
    EmailTaken,
    InMemoryIdentityRepository,
    NewUser,
    PostgresIdentityRepository,
    RefreshToken,
    Role,
    UserChanges,
)


@pytest.fixture
async def repo(backend, request, unique_name):
    if backend == "memory":
        yield InMemoryIdentityRepository()
        return
    database_url = request.getfixturevalue("database_url")
    repository = PostgresIdentityRepository(database_url, schema=unique_name)
    await repository.start()
    yield repository
    await repository.close()
    await drop_schema(database_url, unique_name)


def new_user(email="Ana@Example.com", role=Role.USER) -> NewUser:
    return NewUser(email=email, full_name="Ana Analyst", role=role, daily_query_limit=100, password_hash="h")


async def test_users_round_trip_with_case_folded_email(repo):
    user = await repo.add_user(new_user())
    assert user.id > 0 and user.email == "ana@example.com" and user.role is Role.USER
    assert await repo.user_by_email("ANA@example.COM ") == user
    assert await repo.user_by_id(user.id) == user
    assert await repo.user_by_id(user.id + 1000) is None


async def test_duplicate_email_is_refused(repo):
    await repo.add_user(new_user())
    with pytest.raises(EmailTaken):
        await repo.add_user(new_user(email="ana@example.com"))


async def test_list_and_disable(repo):
    for i in range(3):
        await repo.add_user(new_user(email=f"u{i}@x.io"))
    total, page = await repo.list_users(limit=2, offset=1)
    assert total == 3 and [u.email for u in page] == ["u1@x.io", "u2@x.io"]
    disabled = await repo.set_disabled(page[0].id, True)
    assert disabled.disabled and (await repo.user_by_id(page[0].id)).disabled
    assert await repo.set_disabled(9999, True) is None


async def test_refresh_token_is_usable_once(repo):
    user = await repo.add_user(new_user())
    token = RefreshToken("jti-1", "fam-1", user.id, utcnow() + timedelta(days=1))
    await repo.add_refresh_token(token)
    first = await repo.use_refresh_token("jti-1")
    second = await repo.use_refresh_token("jti-1")
    assert first.used_at is None, "first use sees an unused token"
    assert second.used_at is not None, "second use sees the reuse"
    assert await repo.use_refresh_token("unknown") is None


async def test_concurrent_refreshes_see_exactly_one_unused(repo):
    user = await repo.add_user(new_user())
    await repo.add_refresh_token(RefreshToken("jti-c", "fam-c", user.id, utcnow() + timedelta(days=1)))
    results = await asyncio.gather(*(repo.use_refresh_token("jti-c") for _ in range(10)))
    assert sum(r.used_at is None for r in results) == 1


async def test_revoke_family_marks_every_token(repo):
    user = await repo.add_user(new_user())
    for jti in ("a", "b"):
        await repo.add_refresh_token(RefreshToken(jti, "fam-x", user.id, utcnow() + timedelta(days=1)))
    await repo.add_refresh_token(RefreshToken("c", "fam-y", user.id, utcnow() + timedelta(days=1)))
    assert await repo.revoke_family("fam-x") == 2
    assert (await repo.use_refresh_token("a")).revoked_at is not None
    assert (await repo.use_refresh_token("c")).revoked_at is None


async def test_api_keys_by_hash_and_revocation(repo):
    admin = await repo.add_user(new_user(role=Role.ADMIN))
    key = await repo.add_api_key("frontend", "f" * 64, "bk_abcd", admin.id)
    assert (await repo.api_key_by_hash("f" * 64)).id == key.id
    assert await repo.api_key_by_hash("0" * 64) is None
    revoked = await repo.revoke_api_key(key.id)
    assert revoked.revoked_at is not None
    again = await repo.revoke_api_key(key.id)
    assert again.revoked_at == revoked.revoked_at, "revocation time is kept"
    assert [k.name for k in await repo.list_api_keys()] == ["frontend"]


async def test_update_user_changes_only_what_is_given(repo):
    user = await repo.add_user(new_user())
    updated = await repo.update_user(user.id, UserChanges(daily_query_limit=250))
    assert (updated.daily_query_limit, updated.full_name, updated.role) == (250, "Ana Analyst", Role.USER)
    promoted = await repo.update_user(user.id, UserChanges(role=Role.REVIEWER, full_name="Ana B."))
    assert (promoted.role, promoted.full_name, promoted.daily_query_limit) == (Role.REVIEWER, "Ana B.", 250)
    assert await repo.user_by_id(user.id) == promoted
    assert await repo.update_user(user.id, UserChanges()) == promoted
    assert await repo.update_user(999_999, UserChanges(daily_query_limit=5)) is None


async def test_revoke_user_tokens_ends_every_family_of_that_user_only(repo):
    ana, bob = await repo.add_user(new_user()), await repo.add_user(new_user("bob@example.com"))
    expires = utcnow() + timedelta(hours=1)
    for jti, family, owner in (("a1", "fa", ana), ("a2", "fb", ana), ("b1", "fc", bob)):
        await repo.add_refresh_token(RefreshToken(jti, family, owner.id, expires))
    assert await repo.revoke_user_tokens(ana.id) == 2
    assert (await repo.use_refresh_token("a1")).revoked_at is not None
    assert (await repo.use_refresh_token("a2")).revoked_at is not None
    assert (await repo.use_refresh_token("b1")).revoked_at is None
