"""`mindframe users create <username> [--admin] [--password-stdin]`: the first user, made
without a running server (the auth plugin is started on its own for it)."""

from __future__ import annotations

import sys

import anyio
import click

from mindframe.sdk import booted
from mindframe.sdk.auth import Authenticator


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
