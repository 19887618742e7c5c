"""The shared runner of the document walkthroughs (tests/walkthrough.py): one terminal for README.md and PLUGINS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from . import test_plugins_md_examples, test_readme_walkthroughs
from .walkthrough import OFFLINE, Terminal, marked_blocks

DOC = """Intro.

<!-- file: pkg/a.toml -->
```toml
x = 1
```

<!-- example: hello -->
```sh
export GREETING=hi
python -c "print('x')"
```

```sh
not marked
```
"""


def test_marked_blocks_are_files_and_examples():
    files, examples = marked_blocks(DOC)
    assert files == {"pkg/a.toml": "x = 1\n"}
    assert examples == {"hello": "export GREETING=hi\npython -c \"print('x')\""}


def show(name: str) -> str:
    return f"python -c \"import os; print(os.environ.get('{name}', '-'))\""


def test_a_terminal_keeps_exports_and_replaces_what_a_test_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("TOCSIN_CONFIG", "/elsewhere/tocsin.toml")  # the test run's own settings never leak in
    monkeypatch.setenv("PIP_INDEX_URL", "https://example.org/simple")
    terminal = Terminal(tmp_path, Path(sys.executable), "DOC.md")
    first, second = terminal.run(
        f"export URL=https://discord.com/x TOKEN=t0\n{show('URL')}\n{show('EXTRA')}",
        exports={"URL": "http://127.0.0.1:9/x"},
        env={"EXTRA": "only-now"},
    )
    assert (first.stdout.strip(), second.stdout.strip()) == ("http://127.0.0.1:9/x", "only-now")
    outputs = [r.stdout.strip() for r in terminal.run("\n".join(map(show, ("TOKEN", "EXTRA", "TOCSIN_CONFIG"))))]
    assert outputs == ["t0", "-", "-"]  # the export persists, the one-off env does not
    assert terminal.run(show("PIP_INDEX_URL"))[0].stdout.strip() == "-"


def test_commands_run_offline_in_the_readers_venv(tmp_path):
    terminal = Terminal(tmp_path, tmp_path / ".venv" / "bin" / "python", "DOC.md")
    python = str(terminal.python)
    assert terminal.command(["pip", "install", "-e", "./pkg"]) == [python, "-m", "pip", "install", "./pkg", *OFFLINE]
    assert terminal.command(["pip", "list"]) == [python, "-m", "pip", "list"]
    assert terminal.command(["tocsin", "check"]) == [python, "-m", "tocsin", "check"]
    assert terminal.command(["python", "-m", "build", "pkg"]) == [python, "-m", "build", "--no-isolation", "pkg"]
    with pytest.raises(AssertionError, match=r"DOC\.md runs a command this test does not know: curl x"):
        terminal.command(["curl", "x"])


def test_both_documents_run_through_the_one_terminal():
    assert issubclass(test_plugins_md_examples.Workspace, Terminal)
    for module in (test_readme_walkthroughs, test_plugins_md_examples):
        own = [
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == module.__name__ and "run" in vars(value)
        ]
        assert own == [], f"{module.__name__} defines its own runner: {own}"
        assert not hasattr(module, "see_this_environment") or module.see_this_environment.__module__.endswith(
            "walkthrough"
        )


def test_a_failing_command_is_reported_not_raised(tmp_path):
    (result,) = Terminal(tmp_path, Path(sys.executable), "DOC.md").run('python -c "raise SystemExit(3)"')
    assert isinstance(result, subprocess.CompletedProcess) and result.returncode == 3
