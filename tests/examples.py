"""What the examples' tests share: a copy of an example folder, wired to local servers."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def copy_example(name: str, tmp_path: Path, replace: dict[str, str] | None = None) -> Path:
    """``examples/<name>`` copied to ``tmp_path``, with ``replace`` applied to its tocsin.toml; its folder."""
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder)
    config = folder / "tocsin.toml"
    text = config.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} is not in examples/{name}/tocsin.toml"
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    return folder


def by_to(messages: list) -> dict[tuple[str, ...], object]:
    """Received mails by their To: addresses."""
    return {tuple(a.addr_spec for a in m["To"].addresses): m for m in messages}
