"""Every template file the loader can find, with the names the loader uses for it.

A packaged template is named ``<channel>:<folder>/<file>`` (``discord:discord/default.json.j2``), the
core's ``tocsin:<folder>/<file>``: the names ``{% extends %}`` and ``tocsin templates show`` accept. A
deployment's override folder (``template_dirs``, a target's ``template_dir``) holds files named without
a prefix (``discord/default.json.j2``), found before the packaged ones of the same name.

``tocsin check`` reads the event types templates are written for (``discord/job_completed.json.j2`` is
for ``job_completed``) to render every template a target can select; ``tocsin templates`` lists, shows and
copies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .events import EVENT_TYPES
from .templating import core_templates_dir

if TYPE_CHECKING:
    from .config import Target
    from .plugins import PluginRegistry

__all__ = ["TemplateFile", "folder_templates", "packaged_templates", "selectable_event_types"]

_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*")


@attrs.frozen
class TemplateFile:
    """One template file: ``name`` as looked up, ``qualified`` as ``extends`` names it, where it lives."""

    name: str
    qualified: str
    origin: str
    path: Path

    @property
    def event_type(self) -> str | None:
        """The event type the file is written for (``job_completed``), None for a ``default`` template."""
        stem = self.name.rsplit("/", 1)[-1].split(".", 1)[0]
        return stem if stem != "default" and _TYPE_RE.fullmatch(stem) else None


def folder_templates(folder: Path, origin: str, prefix: str = "") -> list[TemplateFile]:
    """The ``*.j2`` files under ``folder``, sorted; ``prefix`` (``"discord:"``) qualifies their names."""
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.rglob("*.j2") if p.is_file())
    names = [p.relative_to(folder).as_posix() for p in files]
    return [TemplateFile(name, f"{prefix}{name}", origin, path) for name, path in zip(names, files, strict=True)]


def packaged_templates(registry: PluginRegistry, channel: str | None = None) -> list[TemplateFile]:
    """Every loaded channel's packaged templates (or one channel's), then the core's (``tocsin:``).

    Two channels sharing one folder (``slack`` and ``slack-api``) list it once, under the first name.
    """
    found: list[TemplateFile] = []
    seen: set[Path] = set()
    folders = sorted(registry.template_dirs())
    if channel is None or channel == "tocsin":
        folders.append(("tocsin", core_templates_dir()))
    for name, folder in folders:
        if channel not in (None, name) or folder.resolve() in seen:
            continue
        seen.add(folder.resolve())
        found.extend(folder_templates(folder, name, f"{name}:"))
    return found


def selectable_event_types(target: Target, templates: Iterable[TemplateFile]) -> list[str]:
    """The event types whose messages can differ for ``target``: the standard types, the types templates are
    written for, and the names in its ``events``, that its ``events`` accept; plus, for a glob that accepts
    none of these, one made-up type it accepts (``my_*`` gives ``my_check``), to render its ``default``."""
    candidates = {*EVENT_TYPES, *(t.event_type for t in templates if t.event_type)}
    candidates.update(p for p in target.events if _TYPE_RE.fullmatch(p))
    chosen = {t for t in candidates if _wanted(t, target.events)}
    for pattern in target.events:
        if not any(fnmatchcase(t, pattern) for t in chosen):
            made_up = _instance_of(pattern)
            if made_up is not None:
                chosen.add(made_up)
    return sorted(chosen)


def _wanted(event_type: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(event_type, p) for p in patterns)


def _instance_of(pattern: str) -> str | None:
    """A snake_case type ``pattern`` accepts, or None."""
    made = re.sub(r"\[!?\]?[^\]]*\]", "x", pattern).replace("*", "check").replace("?", "x")
    made = made.strip("_") or "check"
    if not made[0].isalpha():
        made = "x" + made
    return made if _TYPE_RE.fullmatch(made) and fnmatchcase(made, pattern) else None
