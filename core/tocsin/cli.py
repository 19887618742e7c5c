"""The ``tocsin`` command line. Exit codes: 0 all delivered, 1 some delivery failed, 2 bad config or usage."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .config import CONFIG_ENV, DEFAULT_CONFIG_NAME, find_config, load_config
from .errors import ConfigError, PluginError, TemplateError, TocsinError
from .events import EVENT_TYPES, Event
from .messages import Message, Outcome, Report
from .notifier import Notifier
from .plugins import PluginRegistry
from .samples import sample_data
from .secrets import find_secrets, redact

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EVENT_KEYS = {"type", "data", "title", "severity", "user", "recipients", "source", "id", "occurred_at"}


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _notifier(config: str | None) -> Notifier:
    try:
        return Notifier.from_file(config)
    except ConfigError as exc:
        click.echo(
            f"error: invalid configuration ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}):",
            err=True,
        )
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_USAGE)
    except (PluginError, TocsinError) as exc:
        _fail(str(exc))


def config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "-c",
        "config",
        metavar="PATH",
        envvar=CONFIG_ENV,
        help=f"Config file (default: ${CONFIG_ENV}, then ./{DEFAULT_CONFIG_NAME}, then print to the console).",
    )(fn)


def event_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option(
                "--data",
                "-d",
                "data",
                multiple=True,
                metavar="KEY=VALUE",
                help="Event data; VALUE is read as JSON when it parses (numbers, true, lists), else text.",
            ),
            click.option(
                "--json",
                "json_file",
                metavar="FILE|-",
                type=click.File("r"),
                help="Event data (or a whole event object) as JSON, from a file or - for stdin.",
            ),
            click.option("--title", help="Event title (default: from the type and run name)."),
            click.option(
                "--severity",
                type=click.Choice(["success", "failure", "warning", "info"]),
                help="Override the severity derived from the type.",
            ),
            click.option("--user", help="The user the event is about: a name or an email address."),
            click.option(
                "--recipient",
                "recipients",
                multiple=True,
                metavar="ADDRESS",
                help="Extra recipient for this event (channels that address people, like email).",
            ),
        ]
    ):
        fn = decorator(fn)
    return fn


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_event(
    event_type: str,
    data: Sequence[str],
    json_file: Any,
    title: str | None,
    severity: str | None,
    user: str | None,
    recipients: Sequence[str],
    base_data: dict[str, Any] | None = None,
) -> Event:
    """The event the CLI options describe; a usage error (exit 2) when they do not make one."""
    fields: dict[str, Any] = {}
    merged: dict[str, Any] = dict(base_data or {})
    if json_file is not None:
        try:
            loaded = json.load(json_file)
        except ValueError as exc:
            _fail(f"--json {json_file.name}: not valid JSON: {exc}")
        if not isinstance(loaded, dict):
            _fail(f"--json {json_file.name}: expected a JSON object")
        if set(loaded) & EVENT_KEYS and set(loaded) <= EVENT_KEYS:
            merged.update(loaded.pop("data", None) or {})
            loaded.pop("type", None)
            fields.update(loaded)
        else:
            merged.update(loaded)
    for item in data:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--data {item!r}: expected KEY=VALUE")
        merged[key.strip()] = _parse_value(value)
    for name, value in (("title", title), ("severity", severity), ("user", user)):
        if value:
            fields[name] = value
    if recipients:
        fields["recipients"] = [*fields.get("recipients", ()), *recipients]
    try:
        return Event(type=event_type, data=merged, **fields)
    except (TypeError, ValueError) as exc:
        _fail(str(exc))


def print_report(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    marks = {Outcome.DELIVERED: "✓", Outcome.FAILED: "✗", Outcome.SKIPPED: "-"}
    for receipt in report.receipts:
        click.echo(f"{marks[receipt.outcome]} {receipt.summary()}", err=True)
    if not report.receipts:
        click.echo("no target wants this event (see events/when/users in the config)", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tocsin")
@click.option("--verbose", "-v", count=True, help="Log retries (-v) and debug details (-vv) to stderr.")
def main(verbose: int) -> None:
    """tocsin: send events (a job failed, a backup finished) to Discord, Slack, Teams, email, webhooks."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@main.command()
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
    with _notifier(config) as notifier:
        try:
            report = notifier.notify(event, targets=list(targets) or None)
        except ConfigError as exc:
            _fail(str(exc))
    print_report(report, json_report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


@main.command()
@click.argument("target")
@click.option("--json-report", is_flag=True, help="Print the delivery report as JSON on stdout.")
@config_option
def test(target: str, json_report: bool, config: str | None) -> None:
    """Send a sample event with dummy data to TARGET, whatever its routing rules."""
    with _notifier(config) as notifier:
        try:
            report = notifier.test(target)
        except ConfigError as exc:
            _fail(str(exc))
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


@main.command()
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
    with _notifier(config) as notifier:
        try:
            resolved = notifier.target(target)
            message = notifier.render(resolved, event)
        except (ConfigError, TemplateError) as exc:
            _fail(redact(str(exc), find_secrets(notifier.config.targets)))
    _show_message(message, message_json)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def channels(as_json: bool) -> None:
    """List the installed channels: distribution, version, description and options."""
    registry = PluginRegistry()
    found = registry.load_all(strict=False)
    rows = [
        {
            "name": name,
            "distribution": info.distribution,
            "version": info.version or __version__,
            "description": info.spec.description,
            "options": info.spec.option_docs(),
        }
        for name, info in found.items()
    ]
    if as_json:
        click.echo(json.dumps({"channels": rows, "errors": [str(e) for e in registry.load_errors]}, indent=2))
    else:
        for row in rows:
            click.echo(f"{row['name']}  ({row['distribution']} {row['version']})  {row['description']}")
            for option in row["options"]:
                default = "required" if option["required"] else f"default {json.dumps(option['default'])}"
                secret = ", secret" if option["secret"] else ""
                click.echo(f"    {option['name']}: {option['type']} ({default}{secret})  {option['doc']}")
        for error in registry.load_errors:
            click.echo(f"warning: {error}", err=True)
    sys.exit(EXIT_OK)


@main.command()
@config_option
def check(config: str | None) -> None:
    """Validate the config: every problem is listed; each target's templates are rendered once."""
    path = find_config(config)
    registry = PluginRegistry()
    try:
        loaded = load_config(path, registry)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} found", err=True)
        sys.exit(EXIT_USAGE)
    notifier = Notifier(loaded, registry=registry)
    problems = []
    for target in notifier.targets:
        types = [t for t in target.events if t in EVENT_TYPES] or ["job_failed"]
        for event_type in types:
            try:
                notifier.render(target, event_type)
            except Exception as exc:
                problems.append(
                    f"{loaded.label}: targets {target.name!r}: {redact(str(exc), find_secrets(target.options))}"
                )
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", err=True)
        sys.exit(EXIT_USAGE)
    label = loaded.label
    click.echo(f"{label}: ok ({len(loaded.targets)} target{'s' if len(loaded.targets) != 1 else ''})")
    sys.exit(EXIT_OK)


EXAMPLE_CONFIG = """\
# tocsin configuration. Reference: README.md ("Configuration"); check it with `tocsin check`.
# Secrets come from the environment: "${NAME}" (an error if unset) or "${NAME:-default}".

[notifications]
enabled = true                  # master switch: false sends nothing
max_concurrent_deliveries = 16  # deliveries in flight at once
timeout = 10                    # seconds per attempt (a target's own `timeout` wins)
max_retries = 3                 # retries on connection errors, timeouts, 5xx, 408, 429
# template_dirs = ["notify-templates"]   # your overrides, e.g. notify-templates/discord/default.json.j2
# plugins = ["./my_tweaks.py"]            # local plugin modules

[source]
instance = "my-scheduler"       # shown in every message's footer
# url = "https://scheduler.example.org"

# Every event to the terminal. Delete this target once a real one works.
[[targets]]
name = "console"
channel = "console"
events = ["*"]

# Failures to a Discord channel (pip install tocsin-discord):
# [[targets]]
# name = "team-discord"
# channel = "discord"
# url = "${DISCORD_WEBHOOK_URL}"
# events = ["job_*", "backup_failed"]   # names or globs
# when = ["failure", "warning"]         # or "always"

# Everything to a signed JSON webhook (pip install tocsin-webhook):
# [[targets]]
# name = "ops-webhook"
# channel = "webhook"
# url = "https://hooks.example.org/tocsin"
# secret = "${WEBHOOK_SECRET}"
"""


@main.command()
@click.argument("path", default=DEFAULT_CONFIG_NAME, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH (default ./tocsin.toml)."""
    if path.exists() and not force:
        _fail(f"{path} already exists (use --force to overwrite)")
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run: tocsin check && tocsin test console")
    sys.exit(EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
