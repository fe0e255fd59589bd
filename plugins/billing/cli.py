"""`mindframe billing reconcile`: compare the ledger with Stripe and Vipps now, without a
running server (the billing plugin is started on its own for it). Exits 1 on differences."""

from __future__ import annotations

import json

import anyio
import click

from mindframe.sdk import booted


@click.group()
def billing() -> None:
    """Billing tasks."""


@billing.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def reconcile_command(as_json: bool) -> None:
    """List every difference between the ledger and the providers' objects."""
    from .reconcile import reconcile
    from .service import BillingService

    async def run() -> list[dict]:
        async with booted(["billing"]) as resolve:
            return [d.as_dict() for d in await reconcile(resolve(BillingService))]

    differences = anyio.run(run)
    if as_json:
        click.echo(json.dumps(differences, indent=2, default=str))
    elif not differences:
        click.echo("no differences")
    for difference in [] if as_json else differences:
        click.echo(
            "{provider} {object_id}: {field}: ours {ours!r}, theirs {theirs!r}".format(**difference)
        )
    if differences:
        raise SystemExit(1)
