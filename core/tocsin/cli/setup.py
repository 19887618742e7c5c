"""``tocsin channels``, ``tocsin check`` and ``tocsin init``: what is installed, and whether a config works."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import click

from .. import __version__
from ..config import DEFAULT_CONFIG_NAME, find_config, load_config
from ..errors import ConfigError, TocsinError
from ..notifier import Notifier
from ..plugins import PluginRegistry
from ..secrets import find_secrets, redact
from ..template_catalog import folder_templates, packaged_templates, selectable_event_types
from .common import EXIT_OK, EXIT_USAGE, config_option, fail

__all__ = ["channels", "check", "init"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
def channels(as_json: bool, config: str | None) -> None:
    """List the installed channels: distribution, version, description and options.

    With a config (--config, $TOCSIN_CONFIG or ./tocsin.toml), channels its local plugins provide are listed too.
    """
    registry = PluginRegistry()
    config_problems = _load_local_plugins(config, registry)
    found = registry.load_all(strict=False)
    rows = [
        {
            "name": name,
            "distribution": info.distribution,
            "version": info.version or __version__,
            "description": info.spec.description,
            "rate_limit": info.spec.rate_limit,
            "options": info.spec.option_docs(),
        }
        for name, info in found.items()
    ]
    errors = [str(e) for e in registry.load_errors] + config_problems
    if as_json:
        click.echo(json.dumps({"channels": rows, "errors": errors}, indent=2))
    else:
        for row in rows:
            click.echo(f"{row['name']}  ({row['distribution']} {row['version']})  {row['description']}")
            if row["rate_limit"]:
                click.echo(f"    default rate_limit = {json.dumps(row['rate_limit'])} (the platform's limit)")
            for option in row["options"]:
                default = "required" if option["required"] else f"default {json.dumps(option['default'])}"
                secret = ", secret" if option["secret"] else ""
                click.echo(f"    {option['name']}: {option['type']} ({default}{secret})  {option['doc']}")
        for error in errors:
            click.echo(f"warning: {error}", err=True)
    sys.exit(EXIT_OK)


def _load_local_plugins(config: str | None, registry: PluginRegistry) -> list[str]:
    """Load the config's ``notifications.plugins`` into ``registry``; the config's problems, if any."""
    path = find_config(config)
    if path is None:
        return []
    try:
        load_config(path, registry)
    except ConfigError as exc:
        return exc.problems
    return []


@click.command()
@config_option
def check(config: str | None) -> None:
    """Validate the config: every problem is listed; every template each target can select is rendered.

    A target is rendered for every event type it accepts: the standard ones, every type a template file
    (packaged or yours) is written for, and the types [events.<type>] tables send it.
    """
    path = find_config(config)
    registry = PluginRegistry()
    try:
        loaded = load_config(path, registry)
    except ConfigError as exc:
        _report_problems(exc.problems)
    notifier = Notifier(loaded, registry=registry)
    problems, rendered = [], 0
    for target in notifier.targets:
        files = [
            *packaged_templates(registry),
            *(f for d in loaded.settings.template_dirs for f in folder_templates(d, "deployment")),
            *(folder_templates(target.template_dir, "target") if target.template_dir else []),
        ]
        failures: dict[str, list[str]] = {}
        named = {r.pattern for r in loaded.events if not r.is_glob and target.name in (r.targets or ())}
        for event_type in sorted({*selectable_event_types(target, files), *named}):
            try:
                notifier.render(target, event_type)
                rendered += 1
            except Exception as exc:
                reason = str(exc) if isinstance(exc, TocsinError) else f"{type(exc).__name__}: {exc}"
                failures.setdefault(redact(reason, find_secrets(target.options)), []).append(event_type)
        for reason, types in failures.items():
            more = f" and {len(types) - 1} more" if len(types) > 1 else ""
            problems.append(f"{loaded.label}: target {target.name!r}, event {types[0]}{more}: {reason}")
    if problems:
        _report_problems(problems)
    count = len(loaded.targets)
    click.echo(f"{loaded.label}: ok ({count} target{'s' if count != 1 else ''}, {rendered} messages rendered)")
    sys.exit(EXIT_OK)


def _report_problems(problems: list[str]) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", err=True)
    sys.exit(EXIT_USAGE)


EXAMPLE_HEAD = """\
# tocsin configuration. Reference: README.md ("Configuration"); check it with `tocsin check`.
# Secrets come from the environment: "${NAME}" (an error if unset) or "${NAME:-default}".

[notifications]
enabled = true                  # master switch: false sends nothing
max_concurrent_deliveries = 16  # deliveries in flight at once
timeout = 10                    # seconds per attempt (a target's own `timeout` wins)
max_retries = 3                 # retries on connection errors, timeouts, 5xx, 408, 429
# template_dirs = ["notify-templates"]   # your overrides, e.g. notify-templates/discord/default.json.j2
# plugins = ["./my_tweaks.py"]            # local plugin modules

[delivery]
store = "sqlite:///tocsin-outbox.db"  # durable outbox (next to this file): survives crashes and restarts;
                                      # "memory" keeps nothing. See README "Guarantees", tocsin outbox --help
# max_pending = 10000                 # unfinished deliveries; then submit waits, then raises QueueFullError
# retry_schedule = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"]   # waits between attempts, then dead

[source]
instance = "my-scheduler"       # shown in every message's footer
# url = "https://scheduler.example.org"

# Every event to the terminal. Delete this target once a real one works.
[[targets]]
name = "console"
channel = "console"
events = ["*"]
"""

DISCORD_TARGET = """\
[[targets]]
name = "team-discord"
channel = "discord"
url = "${DISCORD_WEBHOOK_URL}"
events = ["job_*", "backup_failed"]   # names or globs
when = ["failure", "warning"]         # or "always"
"""

WEBHOOK_TARGET = """\
[[targets]]
name = "ops-webhook"
channel = "webhook"
url = "https://hooks.example.org/tocsin"
secret = "${WEBHOOK_SECRET}"
"""


def example_config(installed: Iterable[str]) -> str:
    """The config ``tocsin init`` writes: the Discord target active when tocsin-discord is installed (so
    README's Quick start runs as written), the others as commented examples."""
    discord = "discord" in set(installed)
    parts = [EXAMPLE_HEAD]
    if discord:
        parts.append("\n# Failures to a Discord channel (tocsin-discord; the URL comes from the environment):\n")
        parts.append(DISCORD_TARGET)
    else:
        parts.append("\n# Failures to a Discord channel (pip install tocsin-discord, then uncomment):\n")
        parts.append(_commented(DISCORD_TARGET))
    parts.append("\n# Everything to a signed JSON webhook (pip install tocsin-webhook, then uncomment):\n")
    parts.append(_commented(WEBHOOK_TARGET))
    return "".join(parts)


def _commented(block: str) -> str:
    return "".join(f"# {line}\n" for line in block.splitlines())


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@config_option
def init(path: Path | None, force: bool, config: str | None) -> None:
    """Write a commented example config to PATH (or --config PATH; default ./tocsin.toml)."""
    if path is not None and config is not None and Path(config) != path:
        fail(f"two places to write: {path} and --config {config}; give one")
    target = path or Path(config or DEFAULT_CONFIG_NAME)
    if target.is_dir():
        fail(f"{target} is a folder; give a file name, e.g. {target / DEFAULT_CONFIG_NAME}")
    if target.exists() and not force:
        fail(f"{target} already exists (use --force to overwrite)")
    if not target.parent.is_dir():
        fail(f"cannot write {target}: folder {target.parent} does not exist (create it first)")
    registry = PluginRegistry()
    installed = registry.load_all(strict=False)
    try:
        target.write_text(example_config(installed), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    if "discord" in installed:
        next_step = "export DISCORD_WEBHOOK_URL=…, then run: tocsin check && tocsin test team-discord"
    else:
        next_step = "edit it, then run: tocsin check && tocsin test console"
    click.echo(f"wrote {target}; {next_step}")
    sys.exit(EXIT_OK)
