"""README's walkthroughs, run as a reader runs them: each marked code block, line by line, in subprocesses.

A block preceded by ``<!-- example: ID -->`` is run (``sh``) or compared with what was printed (plain
blocks), ``<!-- file: PATH -->`` is written to PATH. The reader works in a copy of the checkout (README
installs from its root) with a virtualenv that sees this test environment's packages through a ``.pth`` file,
so ``pip install ./ ./plugins/tocsin-discord`` builds and installs the two distributions offline
(``--no-deps --no-build-isolation --no-index``, what the walkthrough cannot reach here) and touches nothing
else. Discord is a local HTTP sink: ``DISCORD_WEBHOOK_URL`` comes from the environment, as README says, and
points at the sink instead of discord.com. The terminal and the venv are tests/walkthrough.py's, shared with
PLUGINS.md's test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.testing import HttpSink, Reply

from .walkthrough import Terminal, make_venv, marked_blocks

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "README.md").read_text(encoding="utf-8")
FILES, EXAMPLES = marked_blocks(DOC)

# Each marked block, claimed by the test that runs it.
TESTED = {
    "quick-start": "test_quick_start_as_written",
    "from-python": "test_quick_start_as_written",
    "configuration": "test_the_configuration_reference_checks",
    "templates-list": "test_templates_walkthrough",
    "templates-list-output": "test_templates_walkthrough",
    "templates-copy": "test_templates_walkthrough",
    "templates-render": "test_templates_walkthrough",
}


def copy_checkout(dest: Path) -> Path:
    """The files git tracks (or would), as a fresh clone has them: no .venv, no build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if listed.returncode:
        pytest.skip("copying the checkout needs git")
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Terminal:
    """A copy of the checkout and the virtualenv of README's first command (``python3 -m venv .venv``)."""
    pytest.importorskip("hatchling", reason="installing from the checkout offline needs hatchling")
    if not (ROOT / "plugins").is_dir():
        pytest.skip("README's walkthroughs install from a checkout, not an sdist")
    root = copy_checkout(tmp_path_factory.mktemp("checkout"))
    return Terminal(root, make_venv(root), "README")


def ensure_discord(reader: Terminal) -> None:
    """The Quick start's install line, when this test runs without the Quick start before it."""
    probe = [str(reader.python), "-c", "import tocsin_discord"]
    if subprocess.run(probe, capture_output=True, timeout=60).returncode:
        (install,) = reader.run(EXAMPLES["quick-start"].splitlines()[0])
        assert install.returncode == 0, install.stderr[-3000:]


def test_every_marked_block_is_tested() -> None:
    assert set(EXAMPLES) == set(TESTED), "a marked README block is run by no test (or a test lost its block)"
    assert set(FILES) == {"notify-templates/discord/default.json.j2"}


def test_quick_start_as_written(reader: Terminal) -> None:
    """pip install from the checkout, init, export, check, test, send; then the Python snippet."""
    with HttpSink() as discord:
        discord.default = Reply(200, {"id": "1"})
        webhook = f"{discord.url}/api/webhooks/123456/quick-start-token"
        install, init, check, test, send = reader.run(EXAMPLES["quick-start"], exports={"DISCORD_WEBHOOK_URL": webhook})
        assert install.returncode == 0, install.stderr[-3000:]
        installed = subprocess.run(
            [
                str(reader.python),
                "-c",
                "import tocsin, tocsin_discord; print(tocsin.__file__, tocsin_discord.__file__)",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert installed.count(str(reader.root / ".venv")) == 2, f"not installed into the reader's venv: {installed}"
        assert init.returncode == 0, init.stderr
        assert (reader.root / "tocsin.toml").is_file()
        assert check.returncode == 0, check.stderr
        assert check.stdout.startswith(f"{reader.root / 'tocsin.toml'}: ok (2 targets, ")
        assert test.returncode == 0, test.stderr
        assert "team-discord  delivered" in test.stderr, test.stderr
        assert len(discord.requests) == 2  # the sample (tocsin test), then the job_failed (tocsin send)
        assert {r.path.split("?")[0] for r in discord.requests} == {"/api/webhooks/123456/quick-start-token"}
        assert "tocsin test notification" in discord.requests[0].json()["embeds"][0]["title"]
        assert send.returncode == 0, send.stderr
        assert "✓ team-discord  delivered" in send.stderr and "✓ console  delivered" in send.stderr
        embed = discord.requests[1].json()["embeds"][0]
        assert "nightly" in embed["title"] and "disk full" in json.dumps(embed)
        assert "quick-start-token" not in test.stdout + test.stderr + send.stdout + send.stderr

        (reader.root / "quick_start.py").write_text(EXAMPLES["from-python"] + "\n", encoding="utf-8")
        (snippet,) = reader.run("python quick_start.py")
        assert (snippet.returncode, snippet.stderr) == (0, "")
        assert len(discord.requests) == 3


def test_templates_walkthrough(reader: Terminal) -> None:
    """List, copy, or extend Discord's packaged embed to add one field; render shows it."""
    ensure_discord(reader)
    reader.env.setdefault("DISCORD_WEBHOOK_URL", "https://discord.com/api/webhooks/1/templates")
    (listed,) = reader.run(EXAMPLES["templates-list"])
    assert listed.stdout.strip() == EXAMPLES["templates-list-output"].strip()
    (copied,) = reader.run(EXAMPLES["templates-copy"])
    assert copied.returncode == 0, copied.stderr
    copy = reader.root / "notify-templates" / "discord" / "default.json.j2"
    shown = reader.run("tocsin templates show discord:discord/default.json.j2")[0].stdout
    assert copy.read_text(encoding="utf-8") == shown
    # "add template_dirs = ["notify-templates"] under [notifications]": tocsin init left it commented out
    config = reader.root / "tocsin.toml"
    if not config.exists():
        reader.run("tocsin init")
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'^# (template_dirs = \["notify-templates"\])', r"\1", text, flags=re.M)
    assert 'template_dirs = ["notify-templates"]' in text.split("\n[source]")[0]
    config.write_text(text, encoding="utf-8")
    for name, content in FILES.items():
        (reader.root / name).write_text(content, encoding="utf-8")
    (rendered,) = reader.run(EXAMPLES["templates-render"])
    assert rendered.returncode == 0, rendered.stderr
    fields = json.loads(rendered.stdout)["embeds"][0]["fields"]
    assert fields[0] == {"name": "Region", "value": "us-east", "inline": True}
    assert len(fields) > 1  # the packaged fields follow


def test_the_configuration_reference_checks(reader: Terminal, tmp_path: Path) -> None:
    """README's annotated config is valid as printed, once the folders and file it names exist."""
    ensure_discord(reader)
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "tocsin.toml").write_text(EXAMPLES["configuration"] + "\n", encoding="utf-8")
    for name in re.findall(r'"([\w./-]+)"', EXAMPLES["configuration"]):
        if name.endswith(".py"):
            (folder / name).write_text("", encoding="utf-8")
        elif name.endswith("templates"):
            (folder / name).mkdir(exist_ok=True)
    reader.env.setdefault("DISCORD_WEBHOOK_URL", "https://discord.com/api/webhooks/1/reference")
    (check,) = reader.run(f"tocsin check -c {folder / 'tocsin.toml'}")
    assert check.returncode == 0, check.stderr
