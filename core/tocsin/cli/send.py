"""``tocsin send``, ``tocsin test`` and ``tocsin render``: one event, delivered or shown."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import attrs
import click

from ..delivery import Submission
from ..errors import ConfigError, TemplateError
from ..events import Event
from ..messages import Message, Outcome, Receipt, Report
from ..notifier import Notifier
from ..samples import sample_data, sample_event
from ..secrets import find_secrets, redact
from ..urls import url_targets
from .common import EXIT_FAILED, EXIT_OK, build_event, config_option, event_options, fail, open_notifier

__all__ = ["EXIT_PENDING", "deliver_and_report", "render", "send", "test"]


EXIT_PENDING = 75  # EX_TEMPFAIL: something waits in a durable outbox for a later attempt
EXIT_SIGINT, EXIT_SIGTERM = 130, 143
MARKS = {
    Outcome.DELIVERED: "✓",
    Outcome.FAILED: "✗",
    Outcome.SKIPPED: "-",
    Outcome.PENDING: "…",
    Outcome.HELD: "⏸",
}


class Terminated(BaseException):
    """SIGTERM arrived (raised in the main thread by the handler)."""


class _Interrupts:
    """SIGINT and SIGTERM raised in the main thread (KeyboardInterrupt, :class:`Terminated`), except inside
    :meth:`held`, which finishes first: a receipt is printed and recorded as shown, or neither."""

    def __init__(self) -> None:
        self.holding = False
        self.deferred: int | None = None
        self.previous = {signum: signal.signal(signum, self.handle) for signum in (signal.SIGINT, signal.SIGTERM)}

    def handle(self, signum: int, frame: Any) -> None:
        if self.holding:
            self.deferred = signum
            return
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
            if self.deferred is not None:
                self.handle(self.deferred, None)

    def ignore(self) -> None:
        for signum in self.previous:
            signal.signal(signum, signal.SIG_IGN)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def exit_code(report: Report) -> int:
    """1 when a target failed, else 75 when one was left pending in a durable outbox, else 0 (delivered,
    skipped, or held by noise control for a digest: accounted for, not a failure)."""
    if report.failed:
        return EXIT_FAILED
    return EXIT_PENDING if report.pending else EXIT_OK


def print_receipt(receipt: Receipt) -> None:
    click.echo(f"{MARKS[receipt.outcome]} {receipt.summary()}", err=True)


def deliver_and_report(notifier: Notifier, submit: Callable[[], Submission], json_report: str | None) -> NoReturn:
    """Submit, print each target's outcome as it finishes, write the JSON report, exit with its code.

    SIGINT/SIGTERM stop waiting: the notifier closes within a second, the report so far is printed
    (what was not delivered shows as failed, or pending in a durable outbox), and the exit code is 130/143.
    """
    interrupts = _Interrupts()
    real_stdout = sys.stdout
    if json_report == "-":
        sys.stdout = sys.stderr  # the console channel's output must not mix with the JSON on stdout
    submission: Submission | None = None
    interrupted = 0
    shown: set[str] = set()
    try:
        try:
            submission = submit()
            for receipt in submission.as_completed():
                with interrupts.held():  # a signal now would print this receipt again in the report below
                    print_receipt(receipt)
                    shown.add(receipt.target)
        except ConfigError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            interrupted = EXIT_SIGINT
        except Terminated:
            interrupted = EXIT_SIGTERM
        if interrupted:
            interrupts.ignore()
            click.echo(f"interrupted ({'SIGINT' if interrupted == EXIT_SIGINT else 'SIGTERM'}): stopping", err=True)
        with _quiet("tocsin"):  # every outcome is printed below: no second line as a warning
            notifier.close(timeout=1.0 if interrupted else None)
    finally:
        sys.stdout = real_stdout
        if not interrupted:
            interrupts.restore()
    if submission is None:
        sys.exit(interrupted or EXIT_FAILED)
    report = submission.report()
    for receipt in report.receipts:
        if receipt.target not in shown:
            print_receipt(receipt)
    if not report.receipts:
        click.echo("no target wants this event (see events/when/users in the config)", err=True)
    if json_report:
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        if json_report == "-":
            click.echo(text)
        else:
            Path(json_report).write_text(text + "\n", encoding="utf-8")
    sys.exit(interrupted or exit_code(report))


json_report_option = click.option(
    "--json-report",
    "json_report",
    metavar="FILE|-",
    help="Write the delivery report as JSON to FILE (- for stdout; other output then goes to stderr).",
)


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
@click.option(
    "--to",
    "urls",
    multiple=True,
    metavar="URL",
    help="Send only to this one-line target (repeatable): discord://, slack://, jsons://, mailtos://, ntfys://, …",
)
@click.option(
    "--critical", is_flag=True, help="A critical event: bypasses de-duplication, digests and quiet hours."
)
@json_report_option
@config_option
def send(
    event_type: str,
    data: Sequence[str],
    json_file: Any,
    title: str | None,
    severity: str | None,
    user: str | None,
    recipients: Sequence[str],
    attachments: Sequence[str],
    targets: Sequence[str],
    urls: Sequence[str],
    critical: bool,
    json_report: str | None,
    config: str | None,
) -> None:
    """Send an event of EVENT_TYPE (job_failed, backup_completed, … or your own) to the targets that want it.

    Exit 0: delivered, or skipped (a duplicate) or held for a digest by noise control; 1: some target
    failed; 75: some delivery waits in the outbox for a later attempt; 2: bad config or usage; 130/143:
    interrupted (SIGINT/SIGTERM), after printing the report so far.
    """
    event = build_event(event_type, data, json_file, title, severity, user, recipients, attachments=attachments)
    if critical:
        event = attrs.evolve(event, critical=True)
    if urls and targets:
        fail("give --to URL or --target NAME, not both")
    notifier = open_notifier(config)
    if urls:  # only these one-line targets (with their default rules), none of the configured ones
        try:
            extra = url_targets(urls, notifier.registry)
        except ValueError as exc:
            fail(str(exc))
        deliver_and_report(notifier, lambda: notifier.submit(event, subscriptions=[], extra_targets=extra), json_report)
    deliver_and_report(notifier, lambda: notifier.submit(event, targets=list(targets) or None), json_report)


@click.command()
@click.argument("target", required=False)
@click.option("--event", "event_type", metavar="TYPE", help="Sample an event of TYPE (default job_completed).")
@click.option("--user", help="The sample event's user (a name or an email address), e.g. for notify_user.")
@json_report_option
@config_option
def test(
    target: str | None, event_type: str | None, user: str | None, json_report: str | None, config: str | None
) -> None:
    """Send a sample event with dummy data to TARGET, whatever its routing rules; with --event TYPE and no
    TARGET, to every target an event of TYPE would reach (the per-event Test button)."""
    if target is None and event_type is None:
        fail("name a TARGET, or an event type with --event TYPE (or both)")
    try:
        event = sample_event(event_type or "job_completed", user=user) if event_type or user else None
    except ValueError as exc:
        fail(str(exc))
    notifier = open_notifier(config)
    if target is not None:
        why = _not_sendable(notifier, target)
        if why:
            notifier.close()
            fail(why)
    deliver_and_report(notifier, lambda: notifier.submit_test(target, event=event), json_report)


def _not_sendable(notifier: Notifier, name: str) -> str | None:
    """Why ``tocsin test NAME`` cannot send (the switches no test overrides), or None: it would send."""
    where = notifier.config.path or "<config>"
    if not notifier.config.settings.enabled:
        return f"{where}: notifications are off ([notifications] enabled = false): nothing sent to {name!r}"
    for entry in notifier.config.targets:
        if entry.name == name and not entry.enabled:
            return f"{where}: target {name!r} has enabled = false: nothing sent (set enabled = true to test it)"
    return None


def _show_message(message: Message, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(message.to_dict(), ensure_ascii=False, indent=2))
        return
    for name, value in message.headers.items():
        click.echo(f"{name}: {value}")
    if message.recipients:
        click.echo(f"Envelope-To: {', '.join(message.recipients)}")  # every address, Bcc included
    for ref in message.attachments:
        click.echo(f"Attachment: {ref.label()}")
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


def _samples(event: Event, count: int) -> list[Event]:
    """``count`` copies of ``event``, a minute apart (the last now), each with its own id and run number."""
    base = event.occurred_at
    return [
        attrs.evolve(
            event,
            id=Event(event.type).id,
            occurred_at=base - timedelta(minutes=count - 1 - i),
            data={**event.data, **({"run_id": f"{event.data['run_id']}-{i + 1}"} if "run_id" in event.data else {})},
            attachments=(),
        )
        for i in range(count)
    ]


@click.command()
@click.argument("target")
@click.argument("event_type", required=False)
@event_options
@click.option("--no-sample", is_flag=True, help="Use only the data given, not the sample data.")
@click.option("--message-json", is_flag=True, help="Print the whole Message as JSON (what an outbox stores).")
@click.option(
    "--digest",
    "digest_count",
    type=click.IntRange(1, 1000),
    is_flag=False,
    flag_value=5,
    default=None,
    metavar="[N]",
    help="Preview the digest of N such events (default 5) TARGET would get from noise control.",
)
@click.option(
    "--reason",
    type=click.Choice(["group", "rate_limit", "quiet_hours"]),
    default="group",
    show_default=True,
    help="With --digest: why the events were held.",
)
@config_option
def render(
    target: str,
    event_type: str | None,
    data: Sequence[str],
    json_file: Any,
    title: str | None,
    severity: str | None,
    user: str | None,
    recipients: Sequence[str],
    attachments: Sequence[str],
    no_sample: bool,
    message_json: bool,
    digest_count: int | None,
    reason: str,
    config: str | None,
) -> None:
    """Show the message TARGET would receive for EVENT_TYPE (sample data plus -d), sending nothing.

    With --digest [N]: the digest message of N such events (a minute apart; EVENT_TYPE defaults to
    job_failed), as noise control would send it.
    """
    if event_type is None:
        if not digest_count:
            fail("name an EVENT_TYPE (or preview a digest with --digest)")
        event_type = "job_failed"
    base = {} if no_sample else sample_data(event_type)
    event = build_event(
        event_type, data, json_file, title, severity, user, recipients, base_data=base, attachments=attachments
    )
    with open_notifier(config) as notifier:
        try:
            resolved = notifier.target(target)
            if digest_count:
                message = notifier.noise.preview(resolved, _samples(event, digest_count), reason)
            else:
                message = notifier.render(resolved, event)
        except (ConfigError, TemplateError) as exc:
            fail(redact(str(exc), find_secrets(notifier.config.targets)))
    _show_message(message, message_json)
