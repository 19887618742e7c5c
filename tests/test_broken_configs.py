"""Broken configs, table-driven: each is ``tocsin check`` (a real subprocess) exiting 2 with its exact message.

Every case is a config file (text, or bytes for encodings) plus the exact problem lines ``tocsin check``
must print, ``{file}`` standing for the config's path and ``{dir}`` for its folder; nothing may print a
traceback. The cases run concurrently in one fixture (a subprocess each), then each is asserted as its
own test. Some also go through ``tocsin send``: a config-wide problem fails it the same way (exit 2); a target's own
problem fails only that target, as its receipt (exit 1), so the other targets still get the event.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest

T = '[[targets]]\nname = "t"\nchannel = "testchan"\nurl = "http://127.0.0.1:9/x"\n'  # a valid target
C = '[[targets]]\nname = "c"\nchannel = "console"\n'  # another


@attrs.frozen
class Case:
    id: str
    config: str | bytes
    problems: tuple[str, ...]
    env: dict[str, str] = attrs.field(factory=dict)
    files: dict[str, str] = attrs.field(factory=dict)  # other files next to the config ("" makes a folder)
    #: Also run ``tocsin send job_failed``: "config" when the whole config fails (exit 2), "target" when only the
    #: target fails, at send time, as its receipt (exit 1), so the other targets still get the event.
    send: str = ""


def case(id: str, config: str | bytes, *problems: str, **kw: Any) -> Case:
    return Case(id, config, problems, **kw)


CASES = [
    # -- reading the file --------------------------------------------------------------------------
    case(
        "latin1",
        b'[source]\ninstance = "caf\xe9"\n' + T.encode(),
        "{file}: not UTF-8 text (line 2 has the byte 0xe9): save the file as UTF-8",
        send="config",
    ),
    case(
        "utf16",
        "\ufeff[notifications]\n".encode("utf-16"),
        "{file}: not UTF-8 text (line 1 has the byte 0xff): save the file as UTF-8",
    ),
    case(
        "deep-array-5000",
        "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "{file}: invalid TOML: arrays or tables nested more than 32 levels deep",
        send="config",
    ),
    case(
        "deep-array-40",
        "x = " + "[" * 40 + "]" * 40 + "\n",
        "{file}: x" + "[0]" * 32 + ": arrays or tables nested more than 32 levels deep",
    ),
    case(
        "not-toml",
        "this is not toml\n",
        "{file}: invalid TOML: Expected '=' after a key in a key/value pair (at line 1, column 6)",
    ),
    case(
        "nul-byte",
        '[source]\ninstance = "a\x00b"\n',
        "{file}: invalid TOML: Illegal character '\\x00' (at line 2, column 14)",
    ),
    case(
        "duplicate-toml-key",
        "[notifications]\ntimeout = 1\ntimeout = 2\n" + T,
        "{file}: invalid TOML: Cannot overwrite a value (at line 3, column 12)",
    ),
    case("config-is-a-folder", "", "{file}: is a folder, not a config file"),
    # -- empty ---------------------------------------------------------------------------------------
    case(
        "empty-file",
        "",
        "{file}: no targets: nothing would be sent; add a [[targets]] table (tocsin init writes an example)",
        send="config",
    ),
    case(
        "only-notifications",
        "[notifications]\ntimeout = 5\n",
        "{file}: no targets: nothing would be sent; add a [[targets]] table (tocsin init writes an example)",
    ),
    case(
        "targets-empty-array",
        "targets = []\n",
        "{file}: no targets: nothing would be sent; add a [[targets]] table (tocsin init writes an example)",
    ),
    case(
        "comments-only",
        "# just a comment\n\n",
        "{file}: no targets: nothing would be sent; add a [[targets]] table (tocsin init writes an example)",
    ),
    # -- top level -----------------------------------------------------------------------------------
    case(
        "unknown-top-key", "[notification]\n" + T, "{file}: notification: unknown key (did you mean 'notifications'?)"
    ),
    case(
        "notifications-not-table",
        "notifications = 3\n" + T,
        "{file}: notifications: expected a table, got 3 (an integer)",
    ),
    case(
        "targets-a-table",
        '[targets]\nname = "t"\n',
        "{file}: targets: expected an array of tables ([[targets]]), got a table",
    ),
    case(
        "targets-of-numbers",
        "targets = [1, 2]\n",
        "{file}: targets[0]: expected a table, got 1 (an integer)",
        "{file}: targets[1]: expected a table, got 2 (an integer)",
    ),
    case("source-a-string", 'source = "me"\n' + T, "{file}: source: expected a table, got 'me' (a string)"),
    case(
        "source-unknown-key",
        '[source]\ninstanse = "me"\n' + T,
        "{file}: source.instanse: unknown key (did you mean 'instance'?)",
    ),
    # -- [notifications] -----------------------------------------------------------------------------
    case(
        "enabled-string",
        '[notifications]\nenabled = "yes"\n' + T,
        "{file}: notifications.enabled: expected true or false, got 'yes' (a string)",
    ),
    case(
        "concurrency-zero",
        "[notifications]\nmax_concurrent_deliveries = 0\n" + T,
        "{file}: notifications.max_concurrent_deliveries: must be at least 1, not 0",
    ),
    case(
        "settings-timeout-negative",
        "[notifications]\ntimeout = -1\n" + T,
        "{file}: notifications.timeout: must be more than 0 seconds, not -1",
    ),
    case(
        "settings-timeout-zero",
        "[notifications]\ntimeout = 0\n" + T,
        "{file}: notifications.timeout: must be more than 0 seconds, not 0",
    ),
    case(
        "settings-timeout-nan",
        "[notifications]\ntimeout = nan\n" + T,
        "{file}: notifications.timeout: must be a finite number of seconds, not nan",
    ),
    case(
        "settings-timeout-inf",
        "[notifications]\ntimeout = inf\n" + T,
        "{file}: notifications.timeout: must be a finite number of seconds, not inf",
    ),
    case(
        "settings-max-retries-negative",
        "[notifications]\nmax_retries = -3\n" + T,
        "{file}: notifications.max_retries: must be at least 0, not -3",
    ),
    case(
        "retry-deadline-nan",
        "[notifications]\nretry_deadline = nan\n" + T,
        "{file}: notifications.retry_deadline: must be a finite number of seconds, not nan",
        send="config",
    ),
    case(
        "retry-backoff-negative",
        "[notifications]\nretry_backoff = -0.5\n" + T,
        "{file}: notifications.retry_backoff: must be 0 or more seconds, not -0.5",
    ),
    case(
        "several-settings-at-once",
        "[notifications]\ntimeout = 0\nmax_retries = -1\nretry_backoff_max = -inf\n" + T,
        "{file}: notifications.timeout: must be more than 0 seconds, not 0",
        "{file}: notifications.max_retries: must be at least 0, not -1",
        "{file}: notifications.retry_backoff_max: must be a finite number of seconds, not -inf",
    ),
    case(
        "timeout-a-string",
        '[notifications]\ntimeout = "10s"\n' + T,
        "{file}: notifications.timeout: expected a number, got '10s' (a string)",
    ),
    case(
        "http-backend",
        '[notifications]\nhttp_backend = "curl"\n' + T,
        "{file}: notifications.http_backend: must be one of 'httpx', 'aiohttp', not 'curl' (a string)",
    ),
    case(
        "template-dirs-a-string",
        '[notifications]\ntemplate_dirs = "tpl"\n' + T,
        "{file}: notifications.template_dirs: expected a list, got 'tpl' (a string)",
    ),
    case(
        "template-dirs-missing",
        '[notifications]\ntemplate_dirs = ["no-such-folder"]\n' + T,
        "{file}: notifications.template_dirs[0]: folder {dir}/no-such-folder does not exist",
        send="config",
    ),
    case(
        "template-dirs-a-file",
        '[notifications]\ntemplate_dirs = ["tpl", "notes.txt"]\n' + T,
        "{file}: notifications.template_dirs[1]: {dir}/notes.txt is a file, not a folder",
        files={"tpl": "", "notes.txt": "hello"},
    ),
    case(
        "plugin-module-missing",
        '[notifications]\nplugins = ["no_such_module_x"]\n' + T,
        '{file}: notifications.plugins[0]: error importing plugin "no_such_module_x": '
        "ModuleNotFoundError: No module named 'no_such_module_x'",
    ),
    case(
        "plugin-file-missing",
        '[notifications]\nplugins = ["tweaks.py"]\n' + T,
        "{file}: notifications.plugins[0]: plugin file {dir}/tweaks.py not found",
    ),
    case(
        "plugin-file-raises",
        '[notifications]\nplugins = ["tweaks.py"]\n' + T,
        '{file}: notifications.plugins[0]: error importing plugin "{dir}/tweaks.py": ZeroDivisionError: '
        "division by zero",
        files={"tweaks.py": "1 / 0\n"},
    ),
    case(
        "plugin-misspelt-hook",
        '[notifications]\nplugins = ["tweaks.py"]\n' + T,
        "{file}: notifications.plugins[0]: plugin 'local:{dir}/tweaks.py' (local): unknown hook "
        "'format_mesage' (did you mean 'format_message'?)",
        files={
            "tweaks.py": "from tocsin import hookimpl\n\n@hookimpl\ndef format_mesage(event, target, templates):\n"
            "    return None\n"
        },
    ),
    case(
        "unset-variable",
        '[[targets]]\nname = "t"\nchannel = "testchan"\nurl = "${NO_SUCH_TOCSIN_VAR}"\n',
        "{file}: targets[0].url: environment variable NO_SUCH_TOCSIN_VAR is not set",
        send="target",
    ),
    # -- [[targets]] core keys -------------------------------------------------------------------------
    case("target-no-name", '[[targets]]\nchannel = "console"\n', "{file}: targets[0].name: required"),
    case("target-no-channel", '[[targets]]\nname = "t"\n', "{file}: targets[0].channel: required"),
    case(
        "target-empty-name",
        '[[targets]]\nname = ""\nchannel = "console"\n',
        "{file}: targets[0].name: must not be empty",
    ),
    case(
        "target-name-number",
        '[[targets]]\nname = 5\nchannel = "console"\n',
        "{file}: targets[0].name: expected a string, got 5 (an integer)",
    ),
    case(
        "target-channel-number",
        '[[targets]]\nname = "t"\nchannel = 5\n',
        "{file}: targets[0].channel: expected a string, got 5 (an integer)",
    ),
    case(
        "channel-not-installed",
        '[[targets]]\nname = "t"\nchannel = "carrierpigeon"\n',
        "{file}: targets[0] 't': no channel 'carrierpigeon' is installed (installed: console, testchan)",
        env={"TOCSIN_LOAD_PLUGINS": "testchan"},
        send="target",
    ),
    case(
        "channel-typo",
        '[[targets]]\nname = "t"\nchannel = "testchn"\nurl = "x"\n',
        "{file}: targets[0] 't': channel 'testchn' is not installed (did you mean 'testchan'?)",
    ),
    case(
        "channel-held-back",
        T,
        "{file}: targets[0] 't': channel 'testchan' is installed (tocsin-testchan) but not "
        "loaded: TOCSIN_LOAD_PLUGINS='' does not list it",
        env={"TOCSIN_LOAD_PLUGINS": ""},
        send="target",
    ),
    case(
        "channel-held-back-by-list",
        T,
        "{file}: targets[0] 't': channel 'testchan' is installed (tocsin-testchan) "
        "but not loaded: TOCSIN_LOAD_PLUGINS='tocsin-other' does not list it",
        env={"TOCSIN_LOAD_PLUGINS": "tocsin-other"},
    ),
    case(
        "channel-broken-plugin",
        '[[targets]]\nname = "t"\nchannel = "broken"\n',
        "{file}: targets[0] 't': error importing plugin \"broken\" (tocsin-broken): ImportError: this plugin is "
        "broken on purpose",
    ),
    case(
        "target-timeout-negative",
        T + "timeout = -5\n",
        "{file}: targets[0].timeout: must be more than 0 seconds, not -5",
        send="target",
    ),
    case("target-timeout-zero", T + "timeout = 0\n", "{file}: targets[0].timeout: must be more than 0 seconds, not 0"),
    case(
        "target-timeout-nan",
        T + "timeout = nan\n",
        "{file}: targets[0].timeout: must be a finite number of seconds, not nan",
    ),
    case(
        "target-timeout-string",
        T + 'timeout = "5"\n',
        "{file}: targets[0].timeout: expected a number, got '5' (a string)",
    ),
    case(
        "target-max-retries-negative",
        T + "max_retries = -3\n",
        "{file}: targets[0].max_retries: must be at least 0, not -3",
    ),
    case(
        "target-max-retries-float",
        T + "max_retries = 1.5\n",
        "{file}: targets[0].max_retries: expected an integer, got 1.5 (a number)",
    ),
    case(
        "events-empty",
        T + "events = []\n",
        '{file}: targets[0].events: empty, so the target would get no event (use ["*"] for every event)',
        send="target",
    ),
    case(
        "events-unclosed-bracket",
        T + 'events = ["job_["]\n',
        "{file}: targets[0].events[0]: 'job_[' is not a valid glob: a '[' is never closed by ']'",
    ),
    case(
        "events-string-unclosed",
        T + 'events = "job_["\n',
        "{file}: targets[0].events[0]: 'job_[' is not a valid glob: a '[' is never closed by ']'",
    ),
    case(
        "events-stray-bracket",
        T + 'events = ["job_]"]\n',
        "{file}: targets[0].events[0]: 'job_]' is not a valid glob: a ']' without its '['",
    ),
    case(
        "events-not-snake-case",
        T + 'events = ["job_failed", "Job Failed"]\n',
        "{file}: targets[0].events[1]: 'Job Failed' can match no event type (types are snake_case like "
        "job_failed; globs use * ? [ ])",
    ),
    case(
        "events-number",
        T + "events = 5\n",
        "{file}: targets[0].events: expected a string or a list, got 5 (an integer)",
    ),
    case(
        "when-empty",
        T + "when = []\n",
        '{file}: targets[0].when: empty, so the target would get no event (use "always" for every severity)',
    ),
    case(
        "when-unknown",
        T + 'when = ["failure", "sometimes"]\n',
        "{file}: targets[0].when: must be 'always' or a list of always, success, failure, warning, info; "
        "got 'sometimes'",
    ),
    case(
        "users-number", T + "users = 5\n", "{file}: targets[0].users: expected a string or a list, got 5 (an integer)"
    ),
    case(
        "enabled-string-target",
        T + 'enabled = "no"\n',
        "{file}: targets[0].enabled: expected true or false, got 'no' (a string)",
    ),
    case(
        "template-dir-missing",
        T + 'template_dir = "team-templates"\n',
        "{file}: targets[0].template_dir: folder {dir}/team-templates does not exist",
    ),
    case(
        "template-dir-a-file",
        T + 'template_dir = "notes.txt"\n',
        "{file}: targets[0].template_dir: {dir}/notes.txt is a file, not a folder",
        files={"notes.txt": "x"},
    ),
    # -- channel options ---------------------------------------------------------------------------------
    case("option-required", '[[targets]]\nname = "t"\nchannel = "testchan"\n', "{file}: targets[0].url: required"),
    case("option-misspelt", T + 'lable = "x"\n', "{file}: targets[0].lable: unknown key (did you mean 'label'?)"),
    case(
        "option-unknown",
        T + 'colour = "red"\n',
        "{file}: targets[0].colour: unknown key (channel 'testchan' takes: label, retries_hint, url)",
    ),
    case(
        "option-wrong-type",
        T + 'retries_hint = "three"\n',
        "{file}: targets[0].retries_hint: expected an integer, got 'three' (a string)",
    ),
    case(
        "secret-wrong-type",
        '[[targets]]\nname = "t"\nchannel = "testchan"\nurl = 42\n',
        "{file}: targets[0].url: expected a string, got an integer",
    ),
    case(
        "console-option",
        C + 'stream = "stdlog"\n',
        "{file}: targets[0].stream: must be one of 'stdout', 'stderr', not 'stdlog' (a string) (did you mean "
        "'stdout'?)",
    ),
    # -- several targets ---------------------------------------------------------------------------------
    case(
        "duplicate-name", T + T, "{file}: targets[1].name: duplicate target name 't' (also targets[0])", send="config"
    ),
    case(
        "duplicate-name-with-other-errors",
        T + T + "timeout = -1\nlable = 1\n",
        "{file}: targets[1].name: duplicate target name 't' (also targets[0])",
        "{file}: targets[1].timeout: must be more than 0 seconds, not -1",
        "{file}: targets[1].lable: unknown key (did you mean 'label'?)",
    ),
    case(
        "duplicate-of-a-broken-target",
        '[[targets]]\nname = "t"\nchannel = "nope"\n' + T,
        "{file}: targets[0] 't': no channel 'nope' is installed (installed: console, testchan)",
        "{file}: targets[1].name: duplicate target name 't' (also targets[0])",
        env={"TOCSIN_LOAD_PLUGINS": "testchan"},
    ),
    case(
        "all-problems-at-once",
        '[notifications]\ntimeout = nan\n[[targets]]\nname = "a"\nchannel = "testchan"\n'
        "events = []\ntimeout = 0\n" + C + 'when = "never"\n',
        "{file}: notifications.timeout: must be a finite number of seconds, not nan",
        '{file}: targets[0].events: empty, so the target would get no event (use ["*"] for every event)',
        "{file}: targets[0].timeout: must be more than 0 seconds, not 0",
        "{file}: targets[0].url: required",
        "{file}: targets[1].when: must be 'always' or a list of always, success, failure, warning, info; got 'never'",
    ),
    case(
        "unknown-keys-hide-no-other-problem",
        '[notifications]\nfoo = 1\ntimeout = -5\n[delivery]\nstor = "sqlite:///x.db"\nmax_in_flight = 0\n'
        '[source]\nhots = "x"\ninstance = 5\n' + C,
        "{file}: notifications.foo: unknown key",
        "{file}: notifications.timeout: must be more than 0 seconds, not -5",
        "{file}: delivery.stor: unknown key (did you mean 'store'?)",
        "{file}: delivery.max_in_flight: must be at least 1",
        "{file}: source.hots: unknown key (did you mean 'host'?)",
        "{file}: source.instance: expected a string, got 5 (an integer)",
        send="config",
    ),
    case(
        "delivery-problems-all-at-once",
        '[delivery]\nretry_schedule = ["5s", "3q"]\nmax_in_flight = 0\nlease = -1\n' + C,
        "{file}: delivery.max_in_flight: must be at least 1",
        "{file}: delivery.lease: must not be negative",
        "{file}: delivery.retry_schedule: not a duration: '3q' (use seconds, or 30s, 5m, 2h, 7d)",
        send="config",
    ),
    # -- templates, found by rendering every template a target can select ----------------------------------
    case(
        "broken-event-template",
        T + 'template_dir = "tpl"\n',
        "{file}: target 't', event job_completed: template 'testchan/job_completed.json.j2' line 1: No filter named 'nosuchfilter'. "
        "(target 't')",
        files={"tpl/testchan/job_completed.json.j2": "{{ title | nosuchfilter }}\n"},
    ),
    case(
        "broken-custom-type-template",
        '[notifications]\ntemplate_dirs = ["tpl"]\n' + T,
        "{file}: target 't', event model_trained: template 'testchan/model_trained.json.j2' rendered invalid JSON "
        "(line 1, column 1: Expecting value) for target 't'",
        files={"tpl/testchan/model_trained.json.j2": "not json\n"},
    ),
    case(
        "broken-default-template",
        '[notifications]\ntemplate_dirs = ["tpl"]\n' + T + 'events = ["job_*"]\n',
        "{file}: target 't', event job_cancelled and 7 more: template 'testchan/default.json.j2' rendered invalid JSON (line 1, column 2: Expecting property name enclosed in "
        "double quotes) for target 't'",
        files={"tpl/testchan/default.json.j2": "{oops}\n"},
    ),
]


def _run(command: list[str], cwd: Path, env: dict[str, str], site: Path) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), full_env.get("PYTHONPATH", "")]))
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *command], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def results(plugin_site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case written to its own folder and run (check, and send where asked), four at a time."""
    jobs: dict[tuple[str, str], Any] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for c in CASES:
            folder = tmp_path_factory.mktemp(c.id).resolve()
            config = folder / "tocsin.toml"
            if c.id == "config-is-a-folder":
                config.mkdir()
            elif isinstance(c.config, bytes):
                config.write_bytes(c.config)
            else:
                config.write_text(c.config, encoding="utf-8")
            for name, content in c.files.items():
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                if content:
                    path.write_text(content, encoding="utf-8")
                else:
                    path.mkdir()
            jobs[(c.id, "check")] = (
                folder,
                pool.submit(_run, ["check", "-c", str(config)], folder, c.env, plugin_site),
            )
            if c.send:
                command = ["send", "job_failed", "-c", str(config)]
                jobs[(c.id, "send")] = (folder, pool.submit(_run, command, folder, c.env, plugin_site))
        return {key: (folder, future.result()) for key, (folder, future) in jobs.items()}


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_broken_config(c: Case, results: dict[str, Any]) -> None:
    folder, result = results[(c.id, "check")]
    config = folder / "tocsin.toml"
    expected = [p.format(file=config, dir=folder) for p in c.problems]
    count = f"{len(expected)} problem{'s' if len(expected) != 1 else ''} found"
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [*expected, count]
    assert (result.returncode, result.stdout) == (2, "")
    if c.send:
        _, sent = results[(c.id, "send")]
        assert "Traceback" not in sent.stdout + sent.stderr
        if c.send == "config":
            heading = f"error: invalid configuration ({len(expected)} problem{'s' if len(expected) != 1 else ''}):"
            assert sent.stderr.splitlines() == [heading, *(f"  {p}" for p in expected)]
            assert (sent.returncode, sent.stdout) == (2, "")
        else:
            (problem,) = expected
            assert sent.stderr.splitlines() == [f"✗ t  failed  — {problem}"]
            assert (sent.returncode, sent.stdout) == (1, "")


def test_suite_size(suite_size: Any) -> None:
    """The issue asks for at least 60 broken configs; say how many ran."""
    suite_size("broken configs (tocsin check, exit 2, exact message)", len(CASES))
    assert len(CASES) >= 60
