"""What the tests that run a document as its reader would share: its marked blocks, a virtualenv that sees this
test environment, and a terminal that runs a shell block line by line in it.

A fenced block preceded by ``<!-- file: PATH -->`` is a file the reader writes, one preceded by
``<!-- example: ID -->`` a command block (or the output it prints) that a test runs or compares
(:func:`marked_blocks`). :class:`Terminal` runs such a block line by line in subprocesses, as one terminal:
``export`` persists; ``pip install`` gets ``--no-deps --no-build-isolation --no-index`` (and loses ``-e``,
since editable installs need the ``editables`` package from the network), ``python -m build`` gets
``--no-isolation``, so nothing reaches the network and only the reader's virtualenv changes. Used by
tests/test_readme_walkthroughs.py (README.md) and tests/test_plugins_md_examples.py (PLUGINS.md).
"""

from __future__ import annotations

import os
import re
import shlex
import site
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["OFFLINE", "Terminal", "make_venv", "marked_blocks", "see_this_environment"]

MARKED = re.compile(r"<!-- (file|example): (\S+) -->\n```[^\n]*\n(.*?)\n```", re.S)
OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index", "-q", "--disable-pip-version-check"]


def marked_blocks(doc: str) -> tuple[dict[str, str], dict[str, str]]:
    """``(files, examples)`` of a document: each marked block's text by its PATH or ID (files end in a newline)."""
    files = {m.group(2): m.group(3) + "\n" for m in MARKED.finditer(doc) if m.group(1) == "file"}
    examples = {m.group(2): m.group(3) for m in MARKED.finditer(doc) if m.group(1) == "example"}
    return files, examples


def see_this_environment(python: Path) -> None:
    """Let the venv at ``python`` import what this test environment has installed (pip, hatchling, tocsin).

    ``--system-site-packages`` would show the *base* interpreter's packages, not this environment's, when
    the tests themselves run in a venv (as ``.ci/run`` does); a ``.pth`` file that adds this environment's
    site folders (their own ``.pth`` files, editable installs among them, included) shows the right ones.
    """
    inner = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in outer)
    Path(inner).mkdir(parents=True, exist_ok=True)
    (Path(inner) / "_see_test_environment.pth").write_text(lines, encoding="utf-8")


def make_venv(root: Path) -> Path:
    """``root/.venv`` (the reader's ``python3 -m venv .venv``), seeing this test environment; its python."""
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    see_this_environment(python)
    return python


@dataclass
class Terminal:
    """A reader's terminal in ``root`` with the virtualenv of ``python``; ``doc`` names the document in errors."""

    root: Path
    python: Path
    doc: str
    env: dict[str, str] = field(default_factory=dict)

    def command(self, words: list[str]) -> list[str]:
        """The argv that runs ``words`` offline in the reader's virtualenv."""
        tool, args = words[0], words[1:]
        if tool == "pip":
            if args[:1] == ["install"]:
                args = [a for a in args if a != "-e"] + OFFLINE
            return [str(self.python), "-m", "pip", *args]
        if tool == "tocsin":
            return [str(self.python), "-m", "tocsin", *args]
        if tool == "python" and args[:2] == ["-m", "build"]:
            return [str(self.python), "-m", "build", "--no-isolation", *args[2:]]
        if tool == "python":
            return [str(self.python), *args]
        raise AssertionError(f"{self.doc} runs a command this test does not know: {' '.join(words)}")

    def run(
        self, block: str, *, exports: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
    ) -> list[subprocess.CompletedProcess[str]]:
        """Each line of a shell block in turn. ``exports`` replace the values the block exports (a local
        server instead of discord.com); ``env`` is added to these commands' environment only."""
        results = []
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if words[0] == "export":
                for word in words[1:]:
                    name, _, value = word.partition("=")
                    self.env[name] = (exports or {}).get(name, value)
                continue
            full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "PIP_"))}
            full_env.update({**self.env, **(env or {}), "PIP_ROOT_USER_ACTION": "ignore"})
            results.append(
                subprocess.run(
                    self.command(words), cwd=self.root, env=full_env, capture_output=True, text=True, timeout=600
                )
            )
        return results
