"""``tocsin channels``, ``tocsin check`` and ``tocsin init``: what is installed, and whether a config works."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import __version__
from ..config import DEFAULT_CONFIG_NAME, find_config, load_config
from ..errors import ConfigError
from ..events import EVENT_TYPES
from ..notifier import Notifier
from ..plugins import PluginRegistry
from ..secrets import find_secrets, redact
from .common import EXIT_OK, EXIT_USAGE, config_option, fail

__all__ = ["channels", "check", "init"]


@click.command()
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


@click.command()
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


@click.command()
@click.argument("path", default=DEFAULT_CONFIG_NAME, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH (default ./tocsin.toml)."""
    if path.exists() and not force:
        fail(f"{path} already exists (use --force to overwrite)")
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run: tocsin check && tocsin test console")
    sys.exit(EXIT_OK)
