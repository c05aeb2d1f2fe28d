"""The operator CLI against the real Postgres."""

from __future__ import annotations

import pytest
from pgtools import drop_schema
from typer.testing import CliRunner

from beacon_gateway.cli import app



@pytest.fixture
def env(database_url, unique_name, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DB_SCHEMA", unique_name)
    yield
    import asyncio

    asyncio.run(drop_schema(database_url, unique_name))


def test_users_and_keys_round_trip(env):
    runner = CliRunner()
    created = runner.invoke(app, ["create-user", "ops@example.com", "--name", "Ops", "--role", "admin"],
                            input="longpassword\nlongpassword\n")
    assert created.exit_code == 0, created.output
    assert "created user 1 ops@example.com (admin)" in created.output
    again = runner.invoke(app, ["create-user", "OPS@example.com", "--name", "Ops"], input="longpassword\nlongpassword\n")
    assert again.exit_code == 1
    listed = runner.invoke(app, ["list-users"])
    assert "ops@example.com\tadmin\t100\tactive" in listed.output
    assert runner.invoke(app, ["disable-user", "1"]).output.strip() == "user 1 disabled"
    key = runner.invoke(app, ["create-api-key", "frontend"])
    assert key.exit_code == 0 and ": bk_" in key.output
    assert "active" in runner.invoke(app, ["list-api-keys"]).output
    assert runner.invoke(app, ["revoke-api-key", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["list-api-keys"]).output
    assert runner.invoke(app, ["revoke-api-key", "99"]).exit_code == 1


def test_short_password_is_refused(env):
    result = CliRunner().invoke(app, ["create-user", "a@b.io", "--name", "A"], input="short\nshort\n")
    assert result.exit_code == 2
