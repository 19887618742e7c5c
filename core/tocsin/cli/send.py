"""``tocsin send``, ``tocsin test`` and ``tocsin render``: one event, delivered or shown."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import ConfigError, TemplateError
from ..messages import Message, Outcome, Report
from ..samples import sample_data, sample_event
from ..secrets import find_secrets, redact
from .common import EXIT_FAILED, EXIT_OK, build_event, config_option, event_options, fail, open_notifier

__all__ = ["render", "send", "test"]


def print_report(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    marks = {Outcome.DELIVERED: "✓", Outcome.FAILED: "✗", Outcome.SKIPPED: "-"}
    for receipt in report.receipts:
        click.echo(f"{marks[receipt.outcome]} {receipt.summary()}", err=True)
    if not report.receipts:
        click.echo("no target wants this event (see events/when/users in the config)", err=True)


@click.command()
@click.argument("event_type")
@event_options
@click.option(
    "--target",
    "-t",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Send only to this target (repeatable), whatever its routing rules.",
)
@click.option("--json-report", is_flag=True, help="Print the delivery report as JSON on stdout.")
@config_option
def send(
    event_type: str,
    data: Sequence[str],
    json_file: Any,
    title: str | None,
    severity: str | None,
    user: str | None,
    recipients: Sequence[str],
    targets: Sequence[str],
    json_report: bool,
    config: str | None,
) -> None:
    """Send an event of EVENT_TYPE (job_failed, backup_completed, … or your own) to the targets that want it."""
    event = build_event(event_type, data, json_file, title, severity, user, recipients)
    with open_notifier(config) as notifier:
        try:
            report = notifier.notify(event, targets=list(targets) or None)
        except ConfigError as exc:
            fail(str(exc))
    print_report(report, json_report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


@click.command()
@click.argument("target", required=False)
@click.option("--event", "event_type", metavar="TYPE", help="Sample an event of TYPE (default job_completed).")
@click.option("--user", help="The sample event's user (a name or an email address), e.g. for notify_user.")
@click.option("--json-report", is_flag=True, help="Print the delivery report as JSON on stdout.")
@config_option
def test(target: str | None, event_type: str | None, user: str | None, json_report: bool, config: str | None) -> None:
    """Send a sample event with dummy data to TARGET, whatever its routing rules; with --event TYPE and no
    TARGET, to every target an event of TYPE would reach (the per-event Test button)."""
    if target is None and event_type is None:
        fail("name a TARGET, or an event type with --event TYPE (or both)")
    with open_notifier(config) as notifier:
        try:
            event = sample_event(event_type or "job_completed", user=user) if event_type or user else None
            report = notifier.test(target, event=event)
        except (ConfigError, ValueError) as exc:
            fail(str(exc))
    print_report(report, json_report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def _show_message(message: Message, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(message.to_dict(), ensure_ascii=False, indent=2))
        return
    for name, value in message.headers.items():
        click.echo(f"{name}: {value}")
    if message.recipients:
        click.echo(f"Envelope-To: {', '.join(message.recipients)}")  # every address, Bcc included
    if message.subject is not None:
        click.echo(f"Subject: {message.subject}")
    if message.body is not None:
        if message.headers or message.subject is not None:
            click.echo()
        click.echo(json.dumps(message.body, ensure_ascii=False, indent=2))
    if message.text is not None:
        if message.html is not None or message.subject is not None:
            click.echo("\n--- text ---")
        elif message.headers or message.recipients:
            click.echo()
        click.echo(message.text.rstrip("\n"))
    if message.html is not None:
        click.echo("\n--- html ---")
        click.echo(str(message.html).rstrip("\n"))


@click.command()
@click.argument("target")
@click.argument("event_type")
@event_options
@click.option("--no-sample", is_flag=True, help="Use only the data given, not the sample data.")
@click.option("--message-json", is_flag=True, help="Print the whole Message as JSON (what an outbox stores).")
@config_option
def render(
    target: str,
    event_type: str,
    data: Sequence[str],
    json_file: Any,
    title: str | None,
    severity: str | None,
    user: str | None,
    recipients: Sequence[str],
    no_sample: bool,
    message_json: bool,
    config: str | None,
) -> None:
    """Show the message TARGET would receive for EVENT_TYPE (sample data plus -d), sending nothing."""
    base = {} if no_sample else sample_data(event_type)
    event = build_event(event_type, data, json_file, title, severity, user, recipients, base_data=base)
    with open_notifier(config) as notifier:
        try:
            resolved = notifier.target(target)
            message = notifier.render(resolved, event)
        except (ConfigError, TemplateError) as exc:
            fail(redact(str(exc), find_secrets(notifier.config.targets)))
    _show_message(message, message_json)
