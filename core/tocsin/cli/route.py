"""``tocsin route``: where an event would go, target by target, and why — sending nothing.

Like Alertmanager's ``amtool config routes test``: every configured target gets a line, ``send`` (with
why) or ``skip: <reason>``, followed by the separate deliveries to people (``ops-mail/user``).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import ConfigError
from ..routing import Subscription, delivery_order
from .common import EXIT_OK, build_event, config_option, event_options, fail, open_notifier

__all__ = ["route"]


@click.command()
@click.argument("event_type")
@functools.partial(event_options, json_input=False)
@click.option("--target", "-t", "targets", multiple=True, metavar="NAME", help="Route as `send --target NAME` would.")
@click.option(
    "--subscribe",
    "subscriptions",
    multiple=True,
    metavar="NAME[:WHEN]",
    help="Route as a submission with these subscriptions would (WHEN: always, success, failure, …).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@config_option
def route(
    event_type: str,
    data: Sequence[str],
    json_file: Any,
    title: str | None,
    severity: str | None,
    user: str | None,
    recipients: Sequence[str],
    attachments: Sequence[str],  # accepted like send's -a; files never change routing, so they are not read
    targets: Sequence[str],
    subscriptions: Sequence[str],
    as_json: bool,
    config: str | None,
) -> None:
    """Show, for every target, whether an EVENT_TYPE event would be sent there and why; sends nothing."""
    event = build_event(event_type, data, json_file, title, severity, user, recipients)
    subs = [_subscription(text) for text in subscriptions] or None
    with open_notifier(config) as notifier:
        try:
            prepared = notifier.prepare(event)
            notifier.attachments.release(prepared.attachments)  # a prepare_event hook's files: not needed here
            routes = notifier.route(prepared, targets=list(targets) or None, subscriptions=subs)
        except ConfigError as exc:
            fail(str(exc))
    rows = [
        {"target": t.name, "channel": t.channel, "send": True, "why": routes.reasons[t.name]} for t in routes.targets
    ]
    rows += [{"target": r.target, "channel": r.channel, "send": False, "why": r.reason or ""} for r in routes.skipped]
    key = delivery_order(notifier.targets)
    rows.sort(key=lambda row: key(row["target"]))
    if as_json:
        click.echo(json.dumps({"event": event.type, "severity": str(event.severity), "routes": rows}, indent=2))
    else:
        width = max((len(row["target"]) for row in rows), default=0)
        for row in rows:
            verdict = f"send  ({row['why']})" if row["send"] else f"skip: {row['why']}"
            click.echo(f"{row['target']:<{width}}  {verdict}")
        if not rows:
            click.echo("no targets configured")
    sys.exit(EXIT_OK)


def _subscription(text: str) -> Subscription:
    name, _, when = text.partition(":")
    try:
        return Subscription(name, when=[w.strip() for w in when.split(",")] if when not in ("", "always") else "always")
    except ValueError as exc:
        fail(f"--subscribe {text!r}: {exc}")
