"""``mindframe bus ...``: watch and repair the bus of a running server over its HTTP API."""

from __future__ import annotations

import json

import click
import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
_API = "/api/kernel/bus"


def _client(url: str) -> httpx.Client:
    """One place to build the HTTP client (tests swap in the app's test client)."""
    return httpx.Client(base_url=url, timeout=httpx.Timeout(10.0, read=None))


def _check(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise click.ClickException(f"HTTP {response.status_code}: {detail}")
    return response


@click.group("bus")
def bus() -> None:
    """Inspect the event bus of a running Mindframe server."""


@bus.command()
@click.argument("pattern", default=">")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Server base URL.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Stop after this many events."
)
def tail(pattern: str, url: str, limit: int | None) -> None:
    """Print events matching PATTERN (NATS wildcards) as they are published."""
    params: dict[str, str | int] = {"pattern": pattern}
    if limit is not None:
        params["limit"] = limit
    with _client(url) as client, client.stream("GET", f"{_API}/tail", params=params) as resp:
        _check(resp)
        for line in resp.iter_lines():
            if not line:
                continue
            item = json.loads(line)
            env = item["envelope"]
            note = f"  (dropped {item['dropped']})" if item.get("dropped") else ""
            click.echo(
                f"{env['timestamp']} {env['topic']} {env['id']} {json.dumps(item['event'])}{note}"
            )


@bus.command("dead-letters")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Server base URL.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print raw JSON.")
def dead_letters(url: str, limit: int, as_json: bool) -> None:
    """List dead letters (newest first)."""
    with _client(url) as client:
        rows = _check(client.get(f"{_API}/dead-letters", params={"limit": limit})).json()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no dead letters")
    for row in rows:
        click.echo(
            f"{row['id']:>6}  {row['created_at']}  {row['topic']}  "
            f"{row['subscription'] or '-'}  {row['reason']}"
            + (f"  [{row['error']}]" if row["error"] else "")
        )


@bus.command()
@click.argument("letter_id", type=click.IntRange(min=1))
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Server base URL.")
def redrive(letter_id: int, url: str) -> None:
    """Deliver dead letter LETTER_ID again."""
    with _client(url) as client:
        row = _check(client.post(f"{_API}/dead-letters/{letter_id}/redrive")).json()
    click.echo(f"re-driven dead letter {row['id']} ({row['topic']}, event {row['event_id']})")
