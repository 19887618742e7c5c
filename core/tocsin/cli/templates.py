"""``tocsin templates list|show|copy``: see and copy the templates channels ship, by the names the loader uses.

A packaged template is ``<channel>:<folder>/<file>`` (``discord:discord/default.json.j2``; the core's are
``tocsin:…``), the name ``{% extends %}`` takes. ``copy`` writes it without the prefix under a folder of
yours (``notify-templates/discord/default.json.j2``), where it overrides the packaged one once that folder
is in ``notifications.template_dirs``. With a config (``--config``, ``$TOCSIN_CONFIG`` or ``./tocsin.toml``),
``list`` and ``show`` also see the overrides in its ``template_dirs``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import find_config, load_config
from ..errors import ConfigError, PluginError
from ..plugins import PluginRegistry
from ..structure import suggest
from ..template_catalog import TemplateFile, folder_templates, packaged_templates
from .common import EXIT_OK, config_option, fail

__all__ = ["templates"]


def _overrides(config: str | None, registry: PluginRegistry) -> list[TemplateFile]:
    """The template files in the config's ``template_dirs`` (none without a config, or with a broken one)."""
    path = find_config(config)
    if path is None:
        return []
    try:
        loaded = load_config(path, registry, strict=False)  # a broken target does not hide the overrides
    except ConfigError as exc:
        click.echo(f"warning: {exc.problems[0]} (overrides not listed)", err=True)
        return []
    return [f for folder in loaded.settings.template_dirs for f in folder_templates(folder, str(folder))]


def _catalog(config: str | None, channel: str | None = None) -> tuple[list[TemplateFile], list[TemplateFile]]:
    """``(overrides, packaged)``: every loaded channel's packaged templates (or ``channel``'s) and the config's."""
    registry = PluginRegistry()
    registry.load_all(strict=False)
    if channel not in (None, "tocsin"):
        try:
            registry.channel(channel)
        except PluginError as exc:
            fail(str(exc))
    packaged = packaged_templates(registry, channel)
    overrides = _overrides(config, registry)
    if channel is not None:
        folders = {f.name.split("/", 1)[0] for f in packaged}
        overrides = [f for f in overrides if f.name.split("/", 1)[0] in folders]
    return overrides, packaged


def _split(name: str) -> tuple[str, str, str]:
    """``discord/job_failed.json.j2`` → ``("discord", "job_failed", "json.j2")``."""
    folder, _, file = name.rpartition("/")
    stem, _, part = file.partition(".")
    return folder, stem, part


def _shadowed(packaged: TemplateFile, overrides: list[TemplateFile]) -> bool:
    """Whether the loader never picks ``packaged``: an override folder holds the same name, or the same
    folder's ``default`` for that part (the first folder holding either name decides)."""
    folder, stem, part = _split(packaged.name)
    return any(
        (f, p) == (folder, part) and s in (stem, "default") for f, s, p in map(_split, (o.name for o in overrides))
    )


def _find(name: str, config: str | None) -> TemplateFile:
    """The template ``name`` names: a prefixed packaged one, else the first file of that name the loader finds."""
    overrides, packaged = _catalog(config)
    for candidate in (*overrides, *packaged):
        if candidate.qualified == name or (":" not in name and candidate.name == name):
            return candidate
    names = [f.qualified for f in (*overrides, *packaged)]
    fail(f"no template {name!r}{suggest(name, names)}; tocsin templates list shows them all")


@click.group()
def templates() -> None:
    """See and copy the templates channels ship (names as {% extends %} takes them: discord:discord/…)."""


@templates.command("list")
@click.argument("channel", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
def list_(channel: str | None, as_json: bool, config: str | None) -> None:
    """List every packaged template (or CHANNEL's; `tocsin` for the core's), and your overrides."""
    overrides, packaged = _catalog(config, channel)
    shadowed = {f.name for f in packaged if _shadowed(f, overrides)}
    if as_json:
        rows = [
            {"name": f.qualified, "origin": "override" if f in overrides else f.origin, "path": str(f.path)}
            for f in (*overrides, *packaged)
        ]
        click.echo(json.dumps({"templates": rows}, indent=2))
        sys.exit(EXIT_OK)
    for f in overrides:
        click.echo(f"{f.qualified}  (yours, in {f.origin})")
    for f in packaged:
        click.echo(f"{f.qualified}  (overridden by yours)" if f.name in shadowed else f.qualified)
    sys.exit(EXIT_OK)


@templates.command()
@click.argument("name")
@config_option
def show(name: str, config: str | None) -> None:
    """Print the template NAME (discord:discord/default.json.j2, or discord/default.json.j2 as the loader finds it)."""
    found = _find(name, config)
    click.echo(found.path.read_text(encoding="utf-8"), nl=False)
    sys.exit(EXIT_OK)


@templates.command()
@click.argument("name")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a file already there.")
@config_option
def copy(name: str, folder: Path, force: bool, config: str | None) -> None:
    """Copy the template NAME into FOLDER under its own name, e.g. FOLDER/discord/default.json.j2, to edit it."""
    found = _find(name, config)
    destination = folder / found.name
    if destination.exists() and not force:
        fail(f"{destination} already exists (use --force to overwrite)")
    if destination.resolve() == found.path.resolve():
        fail(f"{destination} is the template itself")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(found.path.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {destination}: {exc.strerror}")
    hint = f'; it is used once [notifications] has template_dirs = ["{folder}"]'
    path = find_config(config)
    if path is not None:
        try:
            dirs = load_config(path, PluginRegistry(), strict=False).settings.template_dirs
        except ConfigError:
            dirs = ()
        if any(d.resolve() == folder.resolve() for d in dirs):
            hint = f"; {path} uses it: it overrides {found.qualified}"
    click.echo(f"wrote {destination}{hint}")
    sys.exit(EXIT_OK)
