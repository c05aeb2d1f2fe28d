"""Operator CLI: `beacon-admin` (or `python -m beacon_gateway.cli`).

Works on the gateway's Postgres (DATABASE_URL); the same code paths as the admin API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from beacon_gateway.api.identity import create_report_key
from beacon_gateway.auth import AuthService
from beacon_gateway.repository import EmailTaken, PostgresIdentityRepository, Role
from beacon_gateway.settings import GatewaySettings

app = typer.Typer(help="Administer research-API users and report-API keys.", no_args_is_help=True)
T = TypeVar("T")


def _with_auth(action: Callable[[AuthService], Awaitable[T]]) -> T:
    settings = GatewaySettings()
    if not settings.database_url:
        typer.echo("DATABASE_URL is not set: the CLI administers the gateway's Postgres.", err=True)
        raise typer.Exit(2)

    async def run() -> T:
        repo = PostgresIdentityRepository(settings.database_url, settings.db_schema)
        await repo.start()
        try:
            # Only hashing needs the secret-free parts of AuthService.
            return await action(AuthService(repo, secret="unused-by-the-cli"))
        finally:
            await repo.close()

    return asyncio.run(run())


@app.command("create-user")
def create_user(
    email: str,
    full_name: Annotated[str, typer.Option("--name")],
    role: Annotated[Role, typer.Option()] = Role.USER,
    daily_query_limit: Annotated[int, typer.Option(min=1)] = 100,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a user (the password is asked for, never echoed)."""
    if len(password) < 8:
        typer.echo("Password must be at least 8 characters.", err=True)
        raise typer.Exit(2)
    try:
        user = _with_auth(lambda auth: auth.create_user(email, password, full_name, role, daily_query_limit))
    except EmailTaken:
        typer.echo(f"A user with email {email} already exists.", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created user {user.id} {user.email} ({user.role.value})")


@app.command("list-users")
def list_users(limit: int = 100, offset: int = 0) -> None:
    total, users = _with_auth(lambda auth: auth.repo.list_users(limit, offset))
    for user in users:
        state = "disabled" if user.disabled else "active"
        typer.echo(f"{user.id}\t{user.email}\t{user.role.value}\t{user.daily_query_limit}\t{state}")
    typer.echo(f"{total} users")


@app.command("disable-user")
def disable_user(user_id: int, enable: bool = False) -> None:
    """Disable a user (or `--enable` one again)."""
    user = _with_auth(lambda auth: auth.repo.set_disabled(user_id, not enable))
    if user is None:
        typer.echo(f"No user {user_id}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"user {user.id} {'disabled' if user.disabled else 'enabled'}")


@app.command("create-api-key")
def create_api_key(name: str) -> None:
    """Create a report-API key; it is printed once and stored only as a hash."""
    raw, record = _with_auth(lambda auth: create_report_key(auth.repo, name, None))
    typer.echo(f"key {record.id} ({record.name}): {raw}")


@app.command("list-api-keys")
def list_api_keys() -> None:
    for key in _with_auth(lambda auth: auth.repo.list_api_keys()):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.prefix}…\t{state}")


@app.command("revoke-api-key")
def revoke_api_key(key_id: int) -> None:
    key = _with_auth(lambda auth: auth.repo.revoke_api_key(key_id))
    if key is None:
        typer.echo(f"No API key {key_id}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"key {key.id} revoked")


if __name__ == "__main__":
    app()
