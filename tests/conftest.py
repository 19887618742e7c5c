"""Shared fixtures for the core tests: a throwaway channel distribution found through a real entry point."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTCHAN = '''
"""A throwaway HTTP channel, installed through a real .dist-info entry point for the core's tests."""
import attrs
from tocsin import Channel, Message, Secret, hookimpl

IMPORTED = True


@attrs.frozen
class Options:
    url: Secret = attrs.field(metadata={"doc": "Where to POST."})
    label: str = attrs.field(default="", metadata={"doc": "A label."})
    retries_hint: int = attrs.field(default=0, metadata={"doc": "A number."})


@hookimpl
def tocsin_channels():
    from pathlib import Path
    return [Channel("testchan", Options, templates=Path(__file__).parent / "templates",
                    description="A test channel.")]


@hookimpl
def format_message(event, target, templates):
    if target.channel != "testchan":
        return None
    return Message.for_event(event, target, body=templates.render_json(event, target))


@hookimpl
def deliver(message, target, transport):
    if target.channel != "testchan":
        return None
    return transport.post_json(target.options.url, message.body)
'''

TESTCHAN_TEMPLATE = """{
  "title": {{ mark ~ " " ~ title }},
  "type": {{ type }},
  "severity": {{ severity }},
  "fields": [{% for f in fields %}{"name": {{ f.label }}, "value": {{ f.value }}}{% if not loop.last %},{% endif %}{% endfor %}],
  "error": {{ error }},
  "label": {{ target.options.label }}
}
"""


def _dist(site: Path, name: str, version: str, entry_points: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding two installed-looking distributions: tocsin-testchan and tocsin-broken."""
    site = tmp_path_factory.mktemp("site")
    package = site / "tocsin_testchan"
    (package / "templates" / "testchan").mkdir(parents=True)
    (package / "__init__.py").write_text(TESTCHAN)
    (package / "templates" / "testchan" / "default.json.j2").write_text(TESTCHAN_TEMPLATE)
    (package / "templates" / "testchan" / "queue_finished.json.j2").write_text('{"which": "package queue_finished"}')
    _dist(site, "tocsin-testchan", "1.2.3", "[tocsin]\ntestchan = tocsin_testchan\n")
    broken = site / "tocsin_broken"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('this plugin is broken on purpose')\n")
    _dist(site, "tocsin-broken", "0.0.1", "[tocsin]\nbroken = tocsin_broken\n")
    return site


@pytest.fixture
def testchan(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the throwaway distributions on sys.path (as if pip-installed) for this test."""
    monkeypatch.syspath_prepend(str(plugin_site))
    importlib.invalidate_caches()
    return plugin_site


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None, site: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tocsin ARGS`` in a subprocess, as a user would, and return the result."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    if site is not None:
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), full_env.get("PYTHONPATH", "")]))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        input=input,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


_SUITE_SIZES = pytest.StashKey[dict]()


@pytest.fixture
def suite_size(request: pytest.FixtureRequest):
    """``suite_size("broken configs", 64)``: printed at the end of the run, so CI's log says how many cases ran."""
    sizes = request.config.stash.setdefault(_SUITE_SIZES, {})
    return sizes.__setitem__


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for name, count in config.stash.get(_SUITE_SIZES, {}).items():
        terminalreporter.write_line(f"{name}: {count} cases ran")
