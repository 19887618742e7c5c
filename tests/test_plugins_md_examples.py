"""Every code block of PLUGINS.md, run: files are written and used, commands executed, outputs compared.

Each fenced block in PLUGINS.md is preceded by ``<!-- file: PATH -->`` (written to a workspace at PATH) or
``<!-- example: ID -->`` (used by the test below that names ID). Commands run in a throwaway virtualenv
that sees this environment's packages (through a ``.pth`` file), so ``pip install`` there touches nothing else; they run offline:
``pip install`` gets ``--no-deps --no-build-isolation --no-index`` (and installs the tutorial plugin as a
regular package, since editable installs need the ``editables`` package from the network) and
``python -m build`` gets ``--no-isolation`` (the terminal and the venv are tests/walkthrough.py's, shared with
README's walkthroughs).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import attrs
import pytest

from tocsin import Event, PermanentError, PluginRegistry, Response, RetryableError, Secret, Target, Templates
from tocsin import hookspecs as hookspecs_module

from .walkthrough import Terminal, make_venv, marked_blocks

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "PLUGINS.md").read_text(encoding="utf-8")
FILES, EXAMPLES = marked_blocks(DOC)

# The example blocks, each claimed by the test that runs it.
TESTED_EXAMPLES = {
    "tutorial-layout": "test_tutorial_layout_lists_the_files_written",
    "tutorial-install": "workspace fixture; test_tutorial_install_lists_the_channel",
    "tutorial-channels-output": "test_tutorial_install_lists_the_channel",
    "tutorial-render": "test_tutorial_render_test_and_pytest",
    "tutorial-render-output": "test_tutorial_render_test_and_pytest",
    "tutorial-send": "test_tutorial_render_test_and_pytest",
    "tutorial-send-output": "test_tutorial_render_test_and_pytest",
    "hook-signatures": "test_hook_signatures_match_hookspecs",
    "options-check": "test_options_errors_name_file_and_key",
    "options-check-output": "test_options_errors_name_file_and_key",
    "check-function": "test_check_function_turns_ok_false_into_errors",
    "deploy-render": "test_deployment_wrapper_and_template_override",
    "deploy-render-output": "test_deployment_wrapper_and_template_override",
    "contract-console": "test_contract_console_example_is_the_real_test_file",
    "publish-build": "test_publish_build_makes_a_wheel_with_templates_and_entry_point",
}


@dataclass
class Workspace(Terminal):
    """The folder a reader works in, with a virtualenv whose commands the examples run."""

    install: list[subprocess.CompletedProcess[str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The files of PLUGINS.md on disk, a virtualenv, and the tutorial's install step run in it."""
    pytest.importorskip("hatchling", reason="building the tutorial plugin offline needs hatchling")
    root = tmp_path_factory.mktemp("plugins-md")
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    ws = Workspace(root, make_venv(root), "PLUGINS.md")
    ws.install = ws.run(EXAMPLES["tutorial-install"])
    for result in ws.install:
        assert result.returncode == 0, result.stderr
    return ws


def test_every_code_block_is_marked_and_tested() -> None:
    fences = re.findall(r"^```", DOC, re.M)
    assert len(fences) % 2 == 0
    assert len(fences) // 2 == len(FILES) + len(EXAMPLES), "a code block in PLUGINS.md has no file:/example: mark"
    assert set(EXAMPLES) == set(TESTED_EXAMPLES)
    assert all(path.startswith(("tocsin-pushover/", "deploy/", "bad/", "tocsin.toml")) for path in FILES)


# -- 1. the tutorial --------------------------------------------------------------------------------
def test_tutorial_layout_lists_the_files_written() -> None:
    named = set(re.findall(r"[\w.]+\.(?:toml|py|j2)", EXAMPLES["tutorial-layout"]))
    tutorial = {Path(p).name for p in FILES if p.startswith("tocsin-pushover/") and "answers" not in p}
    assert named == tutorial


def test_tutorial_plugin_is_about_sixty_lines() -> None:
    lines = FILES["tocsin-pushover/tocsin_pushover/__init__.py"].strip().splitlines()
    assert 50 <= len(lines) <= 70


def test_tutorial_install_lists_the_channel(workspace: Workspace) -> None:
    channels = workspace.install[-1]
    assert EXAMPLES["tutorial-channels-output"] in channels.stdout


def test_tutorial_render_test_and_pytest(workspace: Workspace, tocsin_http_sink) -> None:
    (render,) = workspace.run(EXAMPLES["tutorial-render"])
    assert render.returncode == 0, render.stderr
    assert render.stdout.strip() == EXAMPLES["tutorial-render-output"].strip()
    token, user = workspace.env["PUSHOVER_TOKEN"], workspace.env["PUSHOVER_USER"]
    assert token not in render.stdout and user not in render.stdout  # added by deliver, on the wire only

    # The same terminal, with PUSHOVER_API_URL pointing at a local server instead of api.pushover.net.
    test, pytest_run = workspace.run(EXAMPLES["tutorial-send"], env={"PUSHOVER_API_URL": tocsin_http_sink.url})
    assert test.returncode == 0, test.stderr
    assert re.sub(r"\d+ ms", "N ms", test.stderr.strip()) == re.sub(r"\d+ ms", "N ms", EXAMPLES["tutorial-send-output"])
    sent = tocsin_http_sink.last
    assert (sent.path, sent.json()["token"], sent.json()["user"]) == ("/1/messages.json", token, user)
    assert sent.json()["title"] == "tocsin test notification: this target works"
    assert pytest_run.returncode == 0, pytest_run.stdout[-3000:] + pytest_run.stderr[-2000:]
    assert re.search(r"\b(1[5-9]|[2-9]\d) passed\b", pytest_run.stdout), pytest_run.stdout[-1000:]
    assert "failed" not in pytest_run.stdout and "error" not in pytest_run.stdout.lower()


# -- 2. hooks ---------------------------------------------------------------------------------------
def test_hook_signatures_match_hookspecs() -> None:
    tree = ast.parse(EXAMPLES["hook-signatures"])
    documented = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    specs = {name: fn for name, fn in vars(hookspecs_module).items() if hasattr(fn, "tocsin_spec")}
    assert set(documented) == set(specs), "PLUGINS.md must list every hook, and only hooks"
    for name, node in documented.items():
        spec = specs[name]
        parameters = inspect.signature(spec).parameters
        assert [a.arg for a in node.args.args] == list(parameters), name
        for arg in node.args.args:
            assert ast.unparse(arg.annotation) == parameters[arg.arg].annotation, f"{name}({arg.arg})"
        assert ast.unparse(node.returns) == spec.__annotations__["return"], name
        (decorator,) = node.decorator_list
        firstresult = isinstance(decorator, ast.Call) and any(
            k.arg == "firstresult" and ast.literal_eval(k.value) for k in decorator.keywords
        )
        assert firstresult == bool(spec.tocsin_spec.get("firstresult")), name


def test_enrich_plugin_adds_the_run_link_and_counts_outcomes(tmp_path: Path, tocsin_make_notifier, capsys) -> None:
    (tmp_path / "enrich.py").write_text(FILES["deploy/enrich.py"])
    notifier = tocsin_make_notifier(
        [{"name": "screen", "channel": "console", "format": "json"}], notifications={"plugins": ["./enrich.py"]}
    )
    assert notifier.notify(Event("job_failed", data={"run_id": "run-7"})).ok
    printed = json.loads(capsys.readouterr().out)
    assert printed["data"]["run_url"] == "https://scheduler.example.org/runs/run-7"
    notifier.notify(Event("job_completed", data={"run_url": "https://ci.example.org/1"}))
    assert json.loads(capsys.readouterr().out)["data"]["run_url"] == "https://ci.example.org/1"  # kept
    (enrich,) = [p for p in notifier.registry.plugin_modules() if hasattr(p, "OUTCOMES")]
    assert enrich.OUTCOMES == {("screen", "delivered"): 2}


def test_attach_log_plugin_mails_the_runs_log_with_failures(
    tmp_path: Path, tocsin_make_notifier, tocsin_smtp_sink, monkeypatch
) -> None:
    pytest.importorskip("tocsin_email", reason="the example mails the log: needs tocsin-email")
    (tmp_path / "attach_log.py").write_text(FILES["deploy/attach_log.py"])
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "run-7.log").write_text("12:00:07 IOError: disk full\n")
    monkeypatch.setenv("PIPELINE_LOG_DIR", str(logs))
    mail = {"name": "mail", "channel": "email", "host": tocsin_smtp_sink.host, "port": tocsin_smtp_sink.port}
    mail.update({"security": "none", "from": "alerts@example.org", "to": ["ops@example.org"]})
    notifier = tocsin_make_notifier([mail], notifications={"plugins": ["./attach_log.py"]})

    report = notifier.notify(Event("job_failed", data={"run_id": "run-7"}))
    assert report.ok and not report["mail"].warnings
    (log,) = tocsin_smtp_sink.last.iter_attachments()
    assert (log.get_filename(), log.get_content()) == ("run-7.log", "12:00:07 IOError: disk full\n")
    notifier.notify(Event("job_completed", data={"run_id": "run-7"}))
    assert tocsin_smtp_sink.last.get_content_type() == "multipart/alternative", "no log for a success"
    gone = notifier.notify(Event("job_failed", data={"run_id": "run-8"}))["mail"]
    assert gone.outcome == "delivered" and "run-8.log" in gone.warnings[0] and "file not found" in gone.warnings[0]


# -- 3. options -------------------------------------------------------------------------------------
def test_options_errors_name_file_and_key(workspace: Workspace) -> None:
    (check,) = workspace.run(EXAMPLES["options-check"])
    assert check.returncode == 2
    assert check.stderr.strip().splitlines() == EXAMPLES["options-check-output"].splitlines()


# -- 4. errors --------------------------------------------------------------------------------------
def test_check_function_turns_ok_false_into_errors() -> None:
    namespace: dict = {}
    exec(EXAMPLES["check-function"], namespace)
    check = namespace["check"]
    assert check(Response(200, {}, '{"ok": true}')) is None
    assert check(Response(200, {}, "ok")) is None
    with pytest.raises(PermanentError, match=r"^Slack: invalid_blocks$"):
        check(Response(200, {}, '{"ok": false, "error": "invalid_blocks"}'))
    with pytest.raises(RetryableError) as caught:
        check(Response(200, {}, '{"ok": false, "error": "ratelimited"}'))
    assert caught.value.retry_after == 30


def test_logfile_channel_steers_retries_by_its_errors(tmp_path: Path, tocsin_make_notifier) -> None:
    (tmp_path / "tocsin_logfile.py").write_text(FILES["deploy/tocsin_logfile.py"])
    log = tmp_path / "events.log"
    log.touch()  # the targets deliver concurrently: x.log must find a file, not nothing, in its way
    targets = [
        {"name": "log", "channel": "logfile", "path": str(log)},
        {"name": "under-a-file", "channel": "logfile", "path": str(log / "x.log")},
    ]
    if Path("/dev/full").exists():
        targets.append({"name": "full-disk", "channel": "logfile", "path": "/dev/full"})
    notifier = tocsin_make_notifier(targets, notifications={"plugins": ["./tocsin_logfile.py"]})
    report = notifier.notify(Event("backup_failed", title="Backup failed:\nnas"))
    assert report["log"].ok and log.read_text().endswith(" failure Backup failed: nas\n")
    assert (report["under-a-file"].attempts, report["under-a-file"].error) == (1, "cannot write x.log: Not a directory")
    if Path("/dev/full").exists():
        assert report["full-disk"].attempts == 4  # max_retries 3: it may pass, so it was retried
        assert report["full-disk"].error == "writing full failed: No space left on device (gave up after 4 attempts)"


# -- 5. templates -----------------------------------------------------------------------------------
def test_secrets_in_the_template_context_show_as_stars(tmp_path: Path) -> None:
    @attrs.frozen
    class Options:
        token: Secret

    folder = tmp_path / "templates" / "x"
    folder.mkdir(parents=True)
    (folder / "default.json.j2").write_text('{"all": {{ target.options | json }}, "one": {{ target.options.token }}}')
    (folder / "default.txt.j2").write_text("{{ target.options.token }}")
    templates = Templates(PluginRegistry(load_entrypoints=False), [tmp_path / "templates"])
    target = Target("t", "x", Options(Secret("hunter2-token")))
    assert templates.render_json(Event("job_failed"), target) == {"all": {"token": "***"}, "one": "***"}
    assert templates.render_text(Event("job_failed"), target) == "***"


# -- 6. deployment tweaks ---------------------------------------------------------------------------
def test_deployment_wrapper_and_template_override(workspace: Workspace, tocsin_http_sink) -> None:
    env = {"PUSHOVER_API_URL": tocsin_http_sink.url, "PUSHOVER_TOKEN": "aPpDeploy", "PUSHOVER_USER": "uSeRDeploy"}
    (render,) = workspace.run(EXAMPLES["deploy-render"], env=env)
    assert render.returncode == 0, render.stderr
    assert render.stdout.strip() == EXAMPLES["deploy-render-output"].strip()
    (send,) = workspace.run("tocsin send backup_failed --config deploy/tocsin.toml -d run_name=nas", env=env)
    assert send.returncode == 0, send.stderr
    body = tocsin_http_sink.last.json()
    assert (body["title"], body["priority"], body["sound"]) == ("[prod] Backup failed: nas", 1, "siren")
    assert (body["token"], body["user"]) == ("aPpDeploy", "uSeRDeploy")
    assert body["message"].endswith("Runbook: https://wiki.example.org/runbooks/nas")


def test_tryfirst_plugin_pre_empts_one_target(tmp_path: Path, tocsin_make_notifier) -> None:
    (tmp_path / "ceo.py").write_text(FILES["deploy/ceo.py"])
    notifier = tocsin_make_notifier(
        [
            {"name": "ceo-phone", "channel": "console", "format": "json"},
            {"name": "screen", "channel": "console", "format": "json"},
        ],
        notifications={"plugins": ["./ceo.py"]},
    )
    event = Event("job_failed", data={"run_name": "nightly"})
    ceo = notifier.render("ceo-phone", event).body
    assert ceo == {"title": "Job failed: nightly", "message": "Details on the dashboard.", "priority": 1}
    assert notifier.render("screen", event).body["type"] == "job_failed"  # the channel's own message


# -- 7. testing -------------------------------------------------------------------------------------
def test_contract_console_example_is_the_real_test_file() -> None:
    real = (ROOT / "tests" / "test_contract_console.py").read_text(encoding="utf-8")
    assert EXAMPLES["contract-console"].strip() == real.strip()


def test_contract_table_lists_every_check() -> None:
    from tocsin.testing import ChannelContract

    section = DOC.split("### The conformance suite", 1)[1].split("Class attributes:", 1)[0]
    documented = set(re.findall(r"^\| `(test_\w+)` \|", section, re.M))
    assert documented == {name for name in dir(ChannelContract) if name.startswith("test_")}


def test_contract_attributes_and_hooks_named_in_the_doc_exist() -> None:
    from tocsin.testing import ChannelContract

    section = DOC.split("Class attributes:", 1)[1].split("A channel that does not speak HTTP", 1)[0]
    named = set(re.findall(r"`(\w+)(?: = [^`]*|\([^`]*\))?`", section))
    named -= {"json", "txt", "title", "True", "False", "sends_json", "Reply"}  # values, not attributes
    missing = sorted(n for n in named if not hasattr(ChannelContract, n))
    assert not missing, missing
    assert "sends_json" in vars(ChannelContract) and ChannelContract.permanent_statuses == (400, 403, 404)


def test_fixture_table_lists_the_pytest_plugin_fixtures() -> None:
    from tocsin.testing import plugin

    section = DOC.split("`tocsin.testing.plugin`). Its fixtures:", 1)[1].split("Plain tests with them", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    fixtures = {name for name, obj in vars(plugin).items() if hasattr(obj, "_fixture_function_marker")}
    fixtures |= {name for name, obj in vars(plugin).items() if type(obj).__name__ == "FixtureFunctionDefinition"}
    assert documented == fixtures


# -- 8. publishing ----------------------------------------------------------------------------------
def test_publish_build_makes_a_wheel_with_templates_and_entry_point(workspace: Workspace) -> None:
    pytest.importorskip("build", reason="python -m build needs the build package")
    (build,) = workspace.run(EXAMPLES["publish-build"])
    assert build.returncode == 0, build.stdout + build.stderr
    dist = workspace.root / "tocsin-pushover" / "dist"
    (wheel,) = dist.glob("tocsin_pushover-0.1.0-*.whl")
    assert list(dist.glob("tocsin_pushover-0.1.0.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "tocsin_pushover/templates/pushover/default.json.j2" in names
    assert "tocsin_pushover/templates/pushover/default.txt.j2" in names
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    assert "[tocsin]\npushover = tocsin_pushover" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_tutorial_channel_is_none_of_the_shipped_plugins() -> None:
    """The tutorial's plugin is installed next to every plugin in plugins/: it must not claim their channels."""
    if not (ROOT / "plugins").is_dir():
        pytest.skip("compares with the plugins/ folder of a checkout (the core's sdist has none)")
    tutorial = re.search(r"\[project\.entry-points\.tocsin\]\n(\S+) =", FILES["tocsin-pushover/pyproject.toml"])
    assert tutorial is not None
    shipped = set()
    for pyproject in (ROOT / "plugins").glob("*/pyproject.toml"):
        section = pyproject.read_text(encoding="utf-8").split("[project.entry-points.tocsin]", 1)[-1]
        shipped |= set(re.findall(r"^([\w-]+) = ", section.split("\n[", 1)[0], re.M))
    assert "gotify" in shipped and tutorial.group(1) not in shipped
