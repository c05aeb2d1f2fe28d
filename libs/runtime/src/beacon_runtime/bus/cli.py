"""`beacon-dlq`: list, inspect and replay a consumer's dead-lettered messages.

    beacon-dlq list gateway                 # oldest first: position, id, type, reason, error
    beacon-dlq show gateway <message-id>    # headers and the envelope, as JSON
    beacon-dlq replay gateway <message-id> [<message-id> ...]
    beacon-dlq replay gateway --all

The consumer is a service's consumer name (its queue is ``<namespace>.<consumer>``). The
broker and namespace come from AMQP_URL and BUS_NAMESPACE, as for the services, or from
``--amqp-url`` / ``--namespace``. A replayed message goes back to that consumer's queue
only (other consumers already had their copy) as a fresh first attempt.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from beacon_runtime.bus import dead_letters
from beacon_runtime.bus.topology import Topology

app = typer.Typer(help="List, inspect and replay dead-lettered bus messages.",
                  no_args_is_help=True)

Consumer = Annotated[str, typer.Argument(help="consumer name, e.g. gateway or report-writer")]
AmqpUrl = Annotated[str, typer.Option("--amqp-url", envvar="AMQP_URL", help="RabbitMQ URL")]
Namespace = Annotated[str, typer.Option("--namespace", envvar="BUS_NAMESPACE")]
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"


@app.command("list")
def list_letters(
    consumer: Consumer,
    amqp_url: AmqpUrl = DEFAULT_URL,
    namespace: Namespace = "beacon",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The consumer's dead letters, oldest first; the queue is left as it was."""
    letters = asyncio.run(dead_letters.peek(amqp_url, Topology(namespace), consumer))
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter.summary()))
        return
    table = Table("#", "message id", "type", "reason", "attempts", "dead since", "error")
    for letter in letters:
        s = letter.summary()
        table.add_row(str(s["position"]), s["message_id"] or "-", s["type"] or "-",
                      s["reason"], str(s["attempts"] or "-"), s["timestamp"] or "-",
                      s["error"][:80])
    Console().print(table)
    typer.echo(f"{len(letters)} dead letter(s) in {Topology(namespace).dlq(consumer)}")


@app.command()
def show(
    consumer: Consumer,
    message_id: Annotated[str, typer.Argument(help="message id (the event id), or #position")],
    amqp_url: AmqpUrl = DEFAULT_URL,
    namespace: Namespace = "beacon",
) -> None:
    """One dead letter in full: why it died, its headers and its envelope (or raw body)."""
    letters = asyncio.run(dead_letters.peek(amqp_url, Topology(namespace), consumer))
    found = [letter for letter in letters if _is(letter, message_id)]
    if not found:
        typer.echo(f"no dead letter {message_id!r} for {consumer!r}", err=True)
        raise typer.Exit(1)
    letter = found[0]
    envelope = letter.envelope
    typer.echo(json.dumps({
        **letter.summary(),
        "headers": {k: _plain(v) for k, v in letter.headers.items()},
        "envelope": envelope.model_dump(mode="json") if envelope else None,
        "body": None if envelope else letter.body.decode("utf-8", "replace"),
    }, indent=2))


@app.command()
def replay(
    consumer: Consumer,
    message_ids: Annotated[list[str] | None, typer.Argument(help="ids (or #positions)")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    amqp_url: AmqpUrl = DEFAULT_URL,
    namespace: Namespace = "beacon",
) -> None:
    """Send dead letters back to the consumer's queue (others stay, in order)."""
    wanted = set(message_ids or [])
    if replay_all == bool(wanted):
        typer.echo("give message ids or --all (not both)", err=True)
        raise typer.Exit(2)
    replayed = asyncio.run(dead_letters.replay(
        amqp_url, Topology(namespace), consumer,
        lambda letter: replay_all or any(_is(letter, w) for w in wanted),
    ))
    for letter in replayed:
        typer.echo(f"replayed {letter.message_id} ({letter.message_type})")
    missing = {w for w in wanted if not any(_is(letter, w) for letter in replayed)}
    typer.echo(f"{len(replayed)} message(s) replayed to {Topology(namespace).queue(consumer)}")
    if missing:
        typer.echo(f"not found: {', '.join(sorted(missing))}", err=True)
        raise typer.Exit(1)


def _is(letter: dead_letters.DeadLetter, wanted: str) -> bool:
    return wanted == letter.message_id or wanted == f"#{letter.position}"


def _plain(value: Any) -> Any:
    """AMQP header values (bytes, nested tables, datetimes) as JSON."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


if __name__ == "__main__":
    app()
