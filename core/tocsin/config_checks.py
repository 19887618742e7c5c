"""What a config's values must be beyond their types: checks shared by the file loader and the classes.

Each check returns the problem as ``"key: message"`` text (or None), so :class:`tocsin.config.Settings` and
:class:`tocsin.config.Target` raise all of theirs at once (:class:`tocsin.structure.Invalid`) and the
loader reports each under its key path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "count_problem",
    "event_pattern_problem",
    "folder_problem",
    "seconds_problem",
    "target_key_problems",
    "too_deep",
]

#: How deeply tables and arrays may nest in a config file (none of tocsin's keys needs more than a few).
MAX_DEPTH = 32


def seconds_problem(name: str, value: float | None, *, zero_ok: bool = False) -> str | None:
    """``"timeout: must be more than 0 seconds, not -5"`` for a value no delay can have, else None."""
    if value is None:
        return None
    if not math.isfinite(value):
        return f"{name}: must be a finite number of seconds, not {value}"
    if value < 0 or (value == 0 and not zero_ok):
        return f"{name}: must be {'0 or more' if zero_ok else 'more than 0'} seconds, not {value:g}"
    return None


def count_problem(name: str, value: int | None, minimum: int) -> str | None:
    if value is not None and value < minimum:
        return f"{name}: must be at least {minimum}, not {value}"
    return None


_GLOB_CLASS = re.compile(r"\[!?\]?[^\]]*\]")
_GLOB_TEXT = re.compile(r"[a-z0-9_*?]+")


def event_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` (an ``events`` entry: a type name or a glob) can never match an event, else None."""
    rest = _GLOB_CLASS.sub("a", pattern)
    if "[" in rest:
        return f"{pattern!r} is not a valid glob: a '[' is never closed by ']'"
    if "]" in rest:
        return f"{pattern!r} is not a valid glob: a ']' without its '['"
    if not _GLOB_TEXT.fullmatch(rest):
        return f"{pattern!r} can match no event type (types are snake_case like job_failed; globs use * ? [ ])"
    return None


def target_key_problems(values: Mapping[str, Any]) -> list[str]:
    """Every ``"key: message"`` problem of a target's core keys (``name``, ``events``, ``when``, …)."""
    found: list[str] = []
    if values.get("name") == "":
        found.append("name: must not be empty")
    events = values.get("events")
    if events is not None:
        events = (events,) if isinstance(events, str) else tuple(events)
        if not events:
            found.append('events: empty, so the target would get no event (use ["*"] for every event)')
        found.extend(f"events[{i}]: {p}" for i, e in enumerate(events) if (p := event_pattern_problem(e)))
    when = values.get("when")
    if when is not None and not isinstance(when, str) and len(when) == 0:
        found.append('when: empty, so the target would get no event (use "always" for every severity)')
    found.extend(
        p
        for p in (
            seconds_problem("timeout", values.get("timeout")),
            count_problem("max_retries", values.get("max_retries"), 0),
        )
        if p
    )
    return found


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` (a template folder) cannot be searched, or None."""
    if folder.is_dir():
        return None
    if folder.exists():
        return f"{folder} is a file, not a folder"
    return f"folder {folder} does not exist"


def too_deep(raw: Any) -> str | None:
    """The key path of the first value nested more than :data:`MAX_DEPTH` levels deep, or None."""
    stack: list[tuple[Any, int, str]] = [(raw, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return path
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1, f"{path}.{k}" if path else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{path}[{i}]") for i, v in enumerate(value))
    return None
