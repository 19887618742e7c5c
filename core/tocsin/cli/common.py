"""What every command shares: exit codes, error output, the --config option, and events from options."""

from __future__ import annotations

import difflib
import io
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
from ..text import terminal_safe

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
    "safe_output",
    "set_verbosity",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EVENT_KEYS = {"type", "data", "title", "severity", "user", "recipients", "source", "id", "occurred_at"}
EVENT_KEYS |= {"users", "recipient_events", "attachments", "critical"}
#: Data keys templates know: never taken for a misspelt event key.
DATA_KEYS = {"status", "message", "description", "url", "run_url", "error", "duration", "size", "queue"}


class SafeStream(io.TextIOBase):
    """A text stream that writes through to ``inner`` what a terminal can show safely: every control
    character but newline and tab, bidi overrides and lone surrogates escaped (:func:`tocsin.text.terminal_safe`),
    and every secret this process knows replaced by ``***`` (:func:`tocsin.secrets.scrub`)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes text streams with write(b"")
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.inner.write(scrub(terminal_safe(text)))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.inner, "isatty", lambda: False)())

    def fileno(self) -> int:
        return int(self.inner.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True


def safe_output() -> None:
    """Route this process's stdout and stderr through :class:`SafeStream` (once; the CLI calls it first)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, SafeStream):
            setattr(sys, name, SafeStream(stream))


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
                help="Event data: KEY=VALUE is always text; KEY:=JSON a typed value (1e3, true, null, [1, 2]).",
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


def _load_json(text: str, where: str) -> Any:
    """``text`` parsed as JSON, or a usage error naming ``where`` (never a traceback, whatever the nesting)."""
    try:
        return json.loads(text)
    except RecursionError:
        fail(f"{where}: nested too deeply to read (more than about 1,000 levels of lists or objects)")
    except ValueError as exc:
        fail(f"{where}: not valid JSON: {exc}")


def _data_item(item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` (a string, always) or ``KEY:=JSON`` (a typed value), httpie's convention."""
    key, sep, value = item.partition("=")
    typed = key.endswith(":")
    key = key[:-1] if typed else key
    if not sep or not key.strip():
        fail(f"--data {item!r}: expected KEY=VALUE (text) or KEY:=JSON (a typed value)")
    return key.strip(), _load_json(value, f"--data {item!r}") if typed else value


def _event_object(loaded: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(data, event fields)`` from a ``--json`` object: a whole event object, or data alone.

    An object with any event key (``type``, ``data``, ``title``, …) is an event object, and then every
    other key is an error with the closest event key suggested; an object without one is data, unless a
    key is a near miss of an event key (``titel``), which is an error too.
    """
    keys = set(loaded)
    if not keys & EVENT_KEYS:
        for key in sorted(keys):
            close = difflib.get_close_matches(key, sorted(EVENT_KEYS), n=1, cutoff=0.8)
            if close and key not in DATA_KEYS:
                fail(
                    f"{where}: unknown key {key!r} (did you mean the event key {close[0]!r}? to send it as "
                    f'data, put it under "data": {{...}})'
                )
        return dict(loaded), {}
    unknown = sorted(keys - EVENT_KEYS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(EVENT_KEYS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(
            f"{where}: unknown event key {unknown[0]!r}{hint}; an event object has {', '.join(sorted(EVENT_KEYS))}, "
            'and its data goes under "data"'
        )
    fields = dict(loaded)
    data = fields.pop("data", None)
    fields.pop("type", None)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        fail(f'{where}: "data" must be an object ({{"key": value, ...}}), not {_json_type(data)}')
    return data, fields


def _json_type(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


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
        where = f"--json {json_file.name}"
        try:
            text = json_file.read()
        except UnicodeDecodeError as exc:
            fail(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        loaded = _load_json(text, where)
        if not isinstance(loaded, dict):
            fail(f"{where}: expected a JSON object (event data, or a whole event), not {_json_type(loaded)}")
        json_data, json_fields = _event_object(loaded, where)
        merged.update(json_data)
        fields.update(json_fields)
    for item in data:
        key, value = _data_item(item)
        merged[key] = value
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
