"""`mindframe users create <username> [--admin] [--password-stdin]`: the first user, and
`mindframe tokens create|list|revoke`: API tokens for the CLI and scripts, both made without
a running server (the auth plugin is started on its own for them)."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import click

from mindframe.sdk import booted
from mindframe.sdk.auth import Authenticator

from .permissions import refuse_beyond
from .refusals import Refusal
from .service import AuthService


@click.group()
def users() -> None:
    """Manage the users of the auth plugin."""


@users.command()
@click.argument("username")
@click.option("--admin", is_flag=True, help="Give the user every permission.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(username: str, admin: bool, password_stdin: bool) -> None:
    """Create a user; the password is asked for (twice) unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def make() -> dict:
        async with booted(["auth"]) as resolve:
            service = resolve(Authenticator)
            return await service.create_user(username, password, admin=admin)  # type: ignore[attr-defined]

    try:
        user = anyio.run(make)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    role = "administrator" if admin else "user"
    click.echo(f"created {role} {user['username']} ({user['id']})")


@click.group()
def tokens() -> None:
    """Create, list and revoke API tokens without a running server (the CLI needs one as
    soon as a user exists: `--token` or MINDFRAME_TOKEN)."""


def _service(resolve: Any) -> AuthService:
    return resolve(Authenticator)  # type: ignore[no-any-return]


async def _user(service: AuthService, username: str) -> dict[str, Any]:
    user = await service.user_by_name(username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    return user


@tokens.command("create")
@click.argument("name")
@click.option("--user", "username", required=True, help="Whose token it is.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="What it may do (repeatable; `kernel.*`, `mail.send`…); none: nothing but sign in.",
)
@click.option("--days", type=int, default=None, help="Lifetime [default: token_ttl_days].")
def create_token(name: str, username: str, scopes: tuple[str, ...], days: int | None) -> None:
    """Make an API token called NAME for a user and print its secret (shown this once)."""

    async def make() -> tuple[dict, str]:
        async with booted(["auth"]) as resolve:
            service = _service(resolve)
            user = await _user(service, username)
            refuse_beyond((await service.identity(user)).can, scopes)
            return await service.create_token(user["id"], name, list(scopes), days)

    try:
        row, secret = anyio.run(make)
    except Refusal as refusal:
        raise click.ClickException(str(refusal)) from None
    click.echo(f"created token {row['id']} ({name}) for {username}; its secret, shown this once:")
    click.echo(secret)


@tokens.command("list")
@click.option("--user", "username", required=True)
def list_tokens(username: str) -> None:
    """A user's tokens: id, name, scopes, expiry and whether revoked (never the secrets)."""

    async def read() -> list[tuple[dict, Any]]:
        async with booted(["auth"]) as resolve:
            service = _service(resolve)
            user = await _user(service, username)
            rows = await service.list_tokens(user["id"])
            return [(row, service.token_expiry(row)) for row in rows]

    for row, expiry in anyio.run(read):
        state = "revoked" if row["revoked_at"] else f"expires {expiry:%Y-%m-%d}"
        scopes = ",".join(row["scopes"]) or "-"
        click.echo(f"{row['id']}  {row['name']:<20} {scopes:<30} {state}")


@tokens.command("revoke")
@click.argument("token_ids", nargs=-1)
@click.option("--user", "username", required=True)
@click.option("--all", "every", is_flag=True, help="Revoke every token of the user.")
def revoke_tokens(token_ids: tuple[str, ...], username: str, every: bool) -> None:
    """Revoke a user's tokens by id (or --all of them)."""
    if not token_ids and not every:
        raise click.ClickException("name the token ids to revoke, or --all")

    async def revoke() -> list[str]:
        async with booted(["auth"]) as resolve:
            service = _service(resolve)
            user = await _user(service, username)
            if every:
                return [f"{await service.revoke_tokens(user['id'])} tokens"]
            missing = [t for t in token_ids if not await service.revoke_token(user["id"], t)]
            if missing:
                raise click.ClickException(f"{username} has no token {', '.join(missing)}")
            return list(token_ids)

    click.echo(f"revoked {', '.join(anyio.run(revoke))}")
