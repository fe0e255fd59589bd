"""`mindframe audit verify`: check the access audit's hash chain without a running server."""

from __future__ import annotations

import anyio
import click

from mindframe.sdk import booted
from mindframe.sdk.agents import AgentRegistry

from .audit import Verification


@click.group()
def audit() -> None:
    """The access audit of health-data agents."""


@audit.command()
def verify() -> None:
    """Walk the access audit from its first row: exits 1 naming each row that was changed,
    deleted or put out of order."""

    async def walk() -> Verification:
        async with booted(["agents"]) as resolve:
            return await resolve(AgentRegistry).audit.verify()  # type: ignore[no-any-return]

    report = anyio.run(walk)
    for problem in report.problems:
        click.echo(problem)
    if not report.ok:
        raise SystemExit(1)
    click.echo(f"access audit: {report.rows} rows, the chain is whole")
