"""``${VAR}`` in config strings: environment variables, with defaults, reported once when unset."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .structure import Problems

__all__ = ["interpolate", "root_causes"]

_ENV_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def interpolate(value: Any, path: str, problems: Problems, environ: Mapping[str, str]) -> Any:
    """``${VAR}`` and ``${VAR:-default}`` replaced in every string of ``value``; ``$$`` is a ``$``."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            problems.add(path, f"environment variable {name} is not set")
            return ""

        return _ENV_RE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: interpolate(v, f"{path}.{k}" if path else k, problems, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{path}[{i}]", problems, environ) for i, v in enumerate(value)]
    return value


def root_causes(problems: list[str]) -> list[str]:
    """Every problem, less those a missing environment variable caused (an unset ``${VAR}`` reads as ""
    and would also be reported as empty or malformed at the same key)."""
    unset = {p.split(": ", 1)[0] for p in problems if p.endswith(" is not set") and ": environment variable " in p}
    return [p for p in problems if p.split(": ", 1)[0] not in unset or p.endswith(" is not set")]
