"""A small TOML writer for tests: real config files on disk from Python data."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["dumps", "write_config"]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)  # JSON strings are valid TOML basic strings
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def dumps(data: Mapping[str, Any]) -> str:
    """TOML text for ``{"notifications": {...}, "source": {...}, "targets": [{...}, ...]}``."""
    lines: list[str] = []
    for table, content in data.items():
        if isinstance(content, Mapping):
            lines.append(f"[{table}]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in content.items())
            lines.append("")
        elif isinstance(content, Sequence) and not isinstance(content, str):
            for entry in content:
                lines.append(f"[[{table}]]")
                lines.extend(f"{_key(k)} = {_value(v)}" for k, v in entry.items())
                lines.append("")
        else:
            lines.insert(0, f"{_key(table)} = {_value(content)}")
    return "\n".join(lines) + "\n"


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as TOML to ``path`` and return the path."""
    path.write_text(dumps(data), encoding="utf-8")
    return path
