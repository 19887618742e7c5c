"""What every command shares: exit codes, error output, the --config option, and events from options."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click

from ..config import CONFIG_ENV, DEFAULT_CONFIG_NAME
from ..errors import ConfigError, PluginError, TocsinError
from ..events import Event
from ..notifier import Notifier
from ..secrets import scrub

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_event",
    "config_option",
    "event_options",
    "fail",
    "global_options",
    "open_notifier",
    "set_verbosity",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EVENT_KEYS = {"type", "data", "title", "severity", "user", "recipients", "source", "id", "occurred_at"}
EVENT_KEYS |= {"users", "recipient_events", "attachments"}


def fail(message: str) -> NoReturn:
    """Print ``error: <message>`` (scrubbed of every known secret) and exit 2."""
    click.echo(f"error: {scrub(message)}", err=True)
    sys.exit(EXIT_USAGE)


def open_notifier(config: str | None) -> Notifier:
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
        fail(str(exc))


CONFIG_HELP = f"Config file (default: ${CONFIG_ENV}, then ./{DEFAULT_CONFIG_NAME}, then print to the console)."
VERBOSE_HELP = "Log retries (-v) and debug details (-vv) to stderr."


def _shared(ctx: click.Context) -> dict[str, Any]:
    """What the options given before the subcommand (``tocsin -c x.toml -v send``) left for it."""
    root = ctx.find_root()
    root.ensure_object(dict)
    return root.obj


def set_verbosity(count: int) -> None:
    """Log to stderr at WARNING (0), INFO (1, ``-v``) or DEBUG (2+, ``-vv``)."""
    level = logging.WARNING if count <= 0 else logging.INFO if count == 1 else logging.DEBUG
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    root.setLevel(level)


def global_options(ctx: click.Context, config: str | None, verbose: int) -> None:
    """Record ``-c``/``-v`` given before the subcommand (called by the ``tocsin`` group)."""
    shared = _shared(ctx)
    shared.update(config=config, verbose=verbose)
    set_verbosity(verbose)


def _config_given(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return value if value is not None else _shared(ctx).get("config")


def _verbose_given(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        shared = _shared(ctx)
        shared["verbose"] = shared.get("verbose", 0) + value
        set_verbosity(shared["verbose"])


def config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--config/-c PATH`` (the ``config`` argument) and ``-v``, each also accepted before the subcommand.

    ``$TOCSIN_CONFIG`` and ``./tocsin.toml`` are found by :func:`tocsin.config.find_config`, so a ``-c``
    given before the subcommand wins over the environment as one given after it does.
    """
    fn = click.option("--verbose", "-v", count=True, expose_value=False, callback=_verbose_given, help=VERBOSE_HELP)(fn)
    return click.option("--config", "-c", "config", metavar="PATH", callback=_config_given, help=CONFIG_HELP)(fn)


def event_options(fn: Callable[..., Any], *, json_input: bool = True) -> Callable[..., Any]:
    """The options that build an event; without ``json_input`` no ``--json FILE`` (``route --json`` is output)."""
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
                "--json" if json_input else "--event-json",
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
            click.option(
                "--attach",
                "-a",
                "attachments",
                multiple=True,
                metavar="PATH",
                type=click.Path(exists=True, dir_okay=False, readable=True),
                help="Attach this file (repeatable); channels that carry files send it, the others list its name.",
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
    attachments: Sequence[str] = (),
) -> Event:
    """The event the CLI options describe; a usage error (exit 2) when they do not make one."""
    fields: dict[str, Any] = {}
    merged: dict[str, Any] = dict(base_data or {})
    if json_file is not None:
        try:
            loaded = json.load(json_file)
        except ValueError as exc:
            fail(f"--json {json_file.name}: not valid JSON: {exc}")
        if not isinstance(loaded, dict):
            fail(f"--json {json_file.name}: expected a JSON object")
        if set(loaded) & EVENT_KEYS and set(loaded) <= EVENT_KEYS:
            merged.update(loaded.pop("data", None) or {})
            loaded.pop("type", None)
            fields.update(loaded)
        else:
            merged.update(loaded)
    for item in data:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--data {item!r}: expected KEY=VALUE")
        merged[key.strip()] = _parse_value(value)
    for name, value in (("title", title), ("severity", severity), ("user", user)):
        if value:
            fields[name] = value
    if recipients:
        fields["recipients"] = [*fields.get("recipients", ()), *recipients]
    if attachments:
        fields["attachments"] = [*fields.get("attachments", ()), *attachments]
    try:
        return Event(type=event_type, data=merged, **fields)
    except (TypeError, ValueError) as exc:
        fail(str(exc))
